import { Injectable } from '@nestjs/common';
import { AzureClient } from './azure-client';
import { type AzureFailure, classifyAzureError } from './azure-errors';

/**
 * Classifies an Azure token failure, asking the authority when MSAL cannot say whether the tenant
 * is unknown or the authority unreachable (both are `endpoints_resolution_error`).
 */
@Injectable()
export class AzureFailureClassifier {
  constructor(private readonly client: AzureClient) {}

  async classify(
    err: unknown,
    tenantId: string,
  ): Promise<{ failure: AzureFailure; aadsts?: number }> {
    const classified = classifyAzureError(err);
    if (classified.failure !== 'transient' || !isEndpointResolution(err)) return classified;
    return (await this.client.tenantExists(tenantId)) === false
      ? { failure: 'invalid_tenant', aadsts: 90002 }
      : classified;
  }
}

function isEndpointResolution(err: unknown): boolean {
  return err instanceof Error && err.message.includes('endpoints_resolution_error');
}
