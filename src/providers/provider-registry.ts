import { Inject, Injectable } from '@nestjs/common';
import { BrokerError } from '../common/error-codes';
import { PROVIDERS, type Provider } from '../database/enums';
import { CREDENTIAL_PROVIDERS, type CredentialProvider } from './provider';
import { type SetupDefinition } from './setup-definition';

/** The drivers by provider. Asking for one that is absent or disabled is `provider_disabled`. */
@Injectable()
export class ProviderRegistry {
  private readonly drivers = new Map<Provider, CredentialProvider>();

  constructor(@Inject(CREDENTIAL_PROVIDERS) drivers: CredentialProvider[]) {
    for (const driver of drivers) {
      if (this.drivers.has(driver.provider)) throw new Error(`two drivers for ${driver.provider}`);
      this.drivers.set(driver.provider, driver);
    }
  }

  get(provider: Provider): CredentialProvider {
    const driver = this.drivers.get(provider);
    if (!driver || !driver.isEnabled()) {
      throw new BrokerError(
        'provider_disabled',
        `The ${provider} provider is not enabled on this broker`,
      );
    }
    return driver;
  }

  /**
   * The driver whether or not it is enabled, for what needs no upstream call (presenting a
   * token already stored); undefined when the process has none for this provider.
   */
  driverOf(provider: Provider): CredentialProvider | undefined {
    return this.drivers.get(provider);
  }

  /** The providers whose token reads answer `?format=<format>`. */
  providersWithTokenFormat(format: string): Provider[] {
    return [...this.drivers.values()]
      .filter((d) => d.tokenFormats?.includes(format))
      .map((d) => d.provider);
  }

  /** A provider's post-connect setup; undefined when it has none (setup_status not_applicable). */
  setupOf(provider: Provider): SetupDefinition | undefined {
    return this.drivers.get(provider)?.setup;
  }

  /** Every provider that has a setup, with its definition (the worker checks them at start). */
  setups(): { provider: Provider; setup: SetupDefinition }[] {
    return [...this.drivers.values()].flatMap((d) =>
      d.setup ? [{ provider: d.provider, setup: d.setup }] : [],
    );
  }

  /** The enabled drivers that keep what their setup made up to date (`maintain`). */
  maintained(): CredentialProvider[] {
    return [...this.drivers.values()].filter((d) => d.maintain !== undefined && d.isEnabled());
  }

  /** Every provider with its state, for the boot log and readiness. */
  describe(): { provider: Provider; available: boolean }[] {
    return PROVIDERS.map((provider) => ({
      provider,
      available: this.drivers.get(provider)?.isEnabled() ?? false,
    }));
  }
}
