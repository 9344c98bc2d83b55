import { Injectable, Logger } from '@nestjs/common';
import { type Caller, callerActor } from '../../auth/caller';
import { ConnectionWriter } from '../../lifecycle/connection-writer';
import { type ConnectionEntity } from '../../database/entities';
import { type TailscaleDevice, TailscaleClient } from './tailscale-client';
import { connectError } from './tailscale-failures';
import { SetupQueue } from '../../jobs/setup-queue';
import { type TailscaleConnectBody } from './tailscale.schemas';

/**
 * POST /tailscale/connect (SPEC §5 Tailscale): a client-credentials token, validated by listing
 * the tailnet's devices, stored with the client; then setup (ACL tag, auth key, SSH key) is queued.
 */
@Injectable()
export class TailscaleConnectService {
  private readonly logger = new Logger(TailscaleConnectService.name);

  constructor(
    private readonly client: TailscaleClient,
    private readonly writer: ConnectionWriter,
    private readonly setup: SetupQueue,
  ) {}

  async connect(
    userId: string,
    body: TailscaleConnectBody,
    actor: Caller,
    requestId: string,
  ): Promise<{ connection: ConnectionEntity; created: boolean }> {
    let token;
    try {
      token = await this.client.mintToken(body.client_id, body.client_secret);
    } catch (err) {
      throw connectError(err, 'token');
    }
    let devices: TailscaleDevice[];
    try {
      devices = await this.client.listDevices(token.accessToken, body.tailnet);
    } catch (err) {
      throw connectError(err, 'devices');
    }
    const tailnet = tailnetName(body.tailnet, devices, body.client_id);
    const result = await this.writer.connect({
      userId,
      provider: 'tailscale',
      accountRef: tailnet,
      displayName: tailnet,
      scopes: token.scope.split(/\s+/).filter(Boolean),
      expiresAt: token.expiresAt,
      metadata: { tailnet, device_count: devices.length },
      secret: {
        client_id: body.client_id,
        client_secret: body.client_secret,
        // The API path segment the client was validated with (`-` or a name), for later calls.
        tailnet: body.tailnet,
        access_token: token.accessToken,
        token_type: 'Bearer',
        expires_at: token.expiresAt.toISOString(),
      },
      setupStatus: 'pending',
      actor: callerActor(actor),
      requestId,
    });
    try {
      await this.setup.enqueue(result.connection);
    } catch (err) {
      // The connection stands; setup stays `pending` and can be retried through the API.
      this.logger.error(
        { err, connectionId: result.connection.id },
        'tailscale setup could not be queued',
      );
    }
    return result;
  }
}

/**
 * The tailnet's name for account_ref. A name the caller gave is used as given. For `-` the API
 * names no tailnet, so the tailnet's DNS name is read from its devices' MagicDNS names
 * (`host.tail1234.ts.net` → `tail1234.ts.net`): unique per tailnet and stable. A tailnet with no
 * device yet is keyed by the OAuth client (`oauth-client:<id>`), which belongs to one tailnet.
 */
export function tailnetName(
  requested: string,
  devices: TailscaleDevice[],
  clientId: string,
): string {
  if (requested !== '-') return requested;
  for (const device of devices) {
    const dot = device.name.indexOf('.');
    const suffix = dot > 0 ? device.name.slice(dot + 1).replace(/\.$/, '') : '';
    if (suffix.includes('.')) return suffix.toLowerCase();
  }
  return `oauth-client:${clientId}`;
}
