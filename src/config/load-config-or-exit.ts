import { type AppConfig, ConfigError, loadConfig } from './config';

/** Exit code for a configuration error (EX_CONFIG), so orchestrators do not restart-loop silently. */
export const EXIT_CONFIG = 78;

/**
 * The configuration of an entrypoint (api, worker), or the process ends with the error's message
 * and EX_CONFIG. Its own file so that the worker does not load the api's entrypoint (and with it
 * every HTTP module) to get it.
 */
export function loadConfigOrExit(processName: string): AppConfig {
  try {
    return loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`[${processName}] ${err.message}\n`);
      process.exit(EXIT_CONFIG);
    }
    throw err;
  }
}
