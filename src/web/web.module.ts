import { Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module';
import { ConnectionsModule } from '../connections/connections.module';
import { IdentityModule } from '../identity/identity.module';
import { AwsModule } from '../providers/aws/aws.module';
import { AzureModule } from '../providers/azure/azure.module';
import { GcpModule } from '../providers/gcp/gcp.module';
import { OvhModule } from '../providers/ovh/ovh.module';
import { TailscaleModule } from '../providers/tailscale/tailscale.module';
import { ConnectController, WEB_ASSETS } from './connect.controller';
import { OAuthInteractionController } from './oauth-interaction.controller';
import { OAUTH_PAGES } from './oauth-pages';
import { AuthorizationServer } from '../identity/authorization-server/authorization-server';
import { ConnectPageService } from './connect-page.service';
import { loadWebAssets } from './web-assets';

/**
 * The connect page (SPEC §10): server-rendered HTML over the same services as the JSON routes,
 * one stylesheet and one script read from assets/ once at boot.
 */
@Module({
  imports: [
    AuthModule,
    IdentityModule,
    ConnectionsModule,
    GcpModule,
    OvhModule,
    AzureModule,
    TailscaleModule,
    AwsModule,
  ],
  controllers: [ConnectController, OAuthInteractionController],
  providers: [ConnectPageService, { provide: WEB_ASSETS, useFactory: () => loadWebAssets() }],
})
export class WebModule {
  constructor(server: AuthorizationServer) {
    server.usePages(OAUTH_PAGES);
  }
}
