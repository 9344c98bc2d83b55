import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** What `cbk login` keeps: the broker, and the tokens of the device flow. */
export interface StoredLogin {
  url: string;
  accessToken: string;
  refreshToken?: string;
  /** Epoch ms. */
  expiresAt: number;
}

/**
 * `~/.config/credential-broker/credentials.json` (or `$XDG_CONFIG_HOME/…`, or `$CBK_CONFIG_DIR`),
 * the directory 0700 and the file 0600: the tokens act for the person who signed in.
 */
export class CredentialsFile {
  readonly path: string;

  constructor(env: Record<string, string | undefined>) {
    const dir =
      env.CBK_CONFIG_DIR ??
      join(env.XDG_CONFIG_HOME ?? join(env.HOME ?? homedir(), '.config'), 'credential-broker');
    this.path = join(dir, 'credentials.json');
  }

  read(): StoredLogin | null {
    if (!existsSync(this.path)) return null;
    try {
      return JSON.parse(readFileSync(this.path, 'utf8')) as StoredLogin;
    } catch {
      return null;
    }
  }

  write(login: StoredLogin): void {
    const dir = join(this.path, '..');
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    chmodSync(dir, 0o700);
    writeFileSync(this.path, `${JSON.stringify(login, null, 2)}\n`, { mode: 0o600 });
    chmodSync(this.path, 0o600);
  }

  remove(): void {
    rmSync(this.path, { force: true });
  }
}
