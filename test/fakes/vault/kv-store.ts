/** KV v2 state of the fake Vault: per path, every version with Vault's own metadata fields. */

export interface KvVersion {
  data: Record<string, unknown> | null;
  createdTime: string;
  deletionTime: string;
  destroyed: boolean;
}

export interface KvEntry {
  currentVersion: number;
  versions: Map<number, KvVersion>;
}

export interface StoredValue {
  mount: string;
  path: string;
  version: number;
  data: Record<string, unknown>;
}

export type KvWriteResult =
  { ok: true; version: number; meta: KvVersion } | { ok: false; error: 'cas' };

export class KvStore {
  private readonly entries = new Map<string, KvEntry>();

  get(mount: string, path: string): KvEntry | undefined {
    return this.entries.get(key(mount, path));
  }

  write(mount: string, path: string, data: Record<string, unknown>, cas?: number): KvWriteResult {
    const entry = this.get(mount, path);
    const current = entry?.currentVersion ?? 0;
    if (cas !== undefined && cas !== current) return { ok: false, error: 'cas' };
    const meta: KvVersion = {
      data: structuredClone(data),
      createdTime: new Date().toISOString(),
      deletionTime: '',
      destroyed: false,
    };
    const target = entry ?? { currentVersion: 0, versions: new Map<number, KvVersion>() };
    target.currentVersion = current + 1;
    target.versions.set(target.currentVersion, meta);
    this.entries.set(key(mount, path), target);
    return { ok: true, version: target.currentVersion, meta };
  }

  /** `DELETE <mount>/data/<path>`: soft-deletes the latest version. */
  softDeleteLatest(mount: string, path: string): void {
    const entry = this.get(mount, path);
    const latest = entry?.versions.get(entry.currentVersion);
    if (latest && latest.deletionTime === '') latest.deletionTime = new Date().toISOString();
  }

  /** `POST <mount>/destroy/<path>`: wipes the data of the given versions, keeps their metadata. */
  destroyVersions(mount: string, path: string, versions: number[]): void {
    const entry = this.get(mount, path);
    for (const v of versions) {
      const version = entry?.versions.get(v);
      if (version) Object.assign(version, { data: null, destroyed: true });
    }
  }

  /** `DELETE <mount>/metadata/<path>`: every version and the metadata. */
  deleteMetadata(mount: string, path: string): void {
    this.entries.delete(key(mount, path));
  }

  /** Names directly under `prefix`, folders with a trailing `/`; undefined when there are none. */
  list(mount: string, prefix: string): string[] | undefined {
    const head = `${mount}/${prefix.replace(/\/+$/, '')}`.replace(/\/+$/, '') + '/';
    const names = new Set<string>();
    for (const k of this.entries.keys()) {
      if (!k.startsWith(head)) continue;
      const rest = k.slice(head.length);
      const slash = rest.indexOf('/');
      names.add(slash === -1 ? rest : rest.slice(0, slash + 1));
    }
    return names.size === 0 ? undefined : [...names].sort();
  }

  /** Every live value, for tests that search the store for a secret that must not be there. */
  values(): StoredValue[] {
    const out: StoredValue[] = [];
    for (const [k, entry] of this.entries) {
      const slash = k.indexOf('/');
      for (const [version, v] of entry.versions) {
        if (v.data)
          out.push({ mount: k.slice(0, slash), path: k.slice(slash + 1), version, data: v.data });
      }
    }
    return out;
  }
}

function key(mount: string, path: string): string {
  return `${mount}/${path}`;
}
