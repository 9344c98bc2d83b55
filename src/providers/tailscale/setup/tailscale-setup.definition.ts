import { type SetupDefinition } from '../../../lifecycle/setup/setup-definition';

/** The Tailscale setup steps, in order (SPEC §5). */
export const TAILSCALE_SETUP_STEPS = ['acl_tag_owner', 'auth_key', 'ssh_key'] as const;
export type TailscaleSetupStepName = (typeof TAILSCALE_SETUP_STEPS)[number];

export const TAILSCALE_SETUP_DEFINITION: SetupDefinition = {
  provider: 'tailscale',
  steps: TAILSCALE_SETUP_STEPS,
};
