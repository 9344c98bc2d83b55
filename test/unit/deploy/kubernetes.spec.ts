import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { loadAll } from 'js-yaml';
import { loadConfig } from '../../../src/config/config';

/**
 * deploy/kubernetes rendered by `kubectl kustomize` (base and the example overlay), every object
 * checked against Kubernetes' OpenAPI schemas (kubernetes-models), then the invariants the broker
 * needs: probes, draining, grace period, non-root, sizing, references that resolve.
 *
 * kubernetes-models is ESM-only with an `import`-only exports map, which CommonJS `require()` of
 * the package name refuses; its files are required by path (Node 22.12+ and Jest 30 load ES
 * modules through require). js-yaml comes with @nestjs/swagger (a runtime dependency).
 */

const ROOT = join(__dirname, '../../..');
const KUSTOMIZE = join(ROOT, 'deploy/kubernetes');
const NOT_FOUND =
  'kubectl not found: install it (apt-get install -y kubectl or from dl.k8s.io) to render deploy/kubernetes';

interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [field: string]: unknown;
}

// The parts of the schemas the invariants read (kubernetes-models has checked the rest).
interface Probe {
  httpGet?: { path: string; port: number | string };
}
interface Container {
  name: string;
  image: string;
  command?: string[];
  ports?: { name?: string; containerPort: number }[];
  env?: { name: string; value?: string }[];
  envFrom?: { configMapRef?: { name: string } }[];
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  lifecycle?: { preStop?: { exec?: { command: string[] }; sleep?: { seconds: number } } };
  securityContext?: {
    runAsNonRoot?: boolean;
    allowPrivilegeEscalation?: boolean;
    readOnlyRootFilesystem?: boolean;
    capabilities?: { drop?: string[] };
    seccompProfile?: { type: string };
  };
  volumeMounts?: { name: string; mountPath: string }[];
}
interface PodSpec {
  serviceAccountName?: string;
  terminationGracePeriodSeconds?: number;
  securityContext?: { runAsNonRoot?: boolean; seccompProfile?: { type: string } };
  containers: Container[];
  volumes?: { name: string; emptyDir?: unknown; secret?: { secretName: string } }[];
}
interface Workload extends K8sObject {
  spec: {
    selector?: { matchLabels: Record<string, string> };
    template: { metadata?: { labels?: Record<string, string> }; spec: PodSpec };
  };
}

function kustomize(dir: string): K8sObject[] {
  let text: string;
  try {
    text = execFileSync('kubectl', ['kustomize', join(KUSTOMIZE, dir)], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT')
      throw new Error(NOT_FOUND, { cause: err });
    const stderr = (err as { stderr?: string }).stderr ?? '';
    throw new Error(`kubectl kustomize ${dir} failed: ${stderr}`, { cause: err });
  }
  return loadAll(text).filter((d): d is K8sObject => d !== null && typeof d === 'object');
}

type Model = new (data: unknown) => { validate(): void };

/** The kubernetes-models class for an apiVersion and kind: `<group>/<version>/<Kind>.js`. */
function modelFor(apiVersion: string, kind: string): Model {
  const file = join(ROOT, 'node_modules/kubernetes-models', apiVersion, `${kind}.js`);
  if (!existsSync(file)) throw new Error(`no kubernetes-models schema for ${apiVersion} ${kind}`);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const mod = require(file) as Record<string, Model>;
  return mod[kind];
}

const byKind = <T extends K8sObject = K8sObject>(objects: K8sObject[], kind: string): T[] =>
  objects.filter((o) => o.kind === kind) as T[];
const named = <T extends K8sObject = K8sObject>(
  objects: K8sObject[],
  kind: string,
  name: string,
): T => {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (!found) throw new Error(`no ${kind} ${name} in the rendered manifests`);
  return found as T;
};
const matches = (selector: Record<string, string>, labels: Record<string, string> = {}): boolean =>
  Object.entries(selector).every(([k, v]) => labels[k] === v);
const mebibytes = (q: string): number => {
  const m = /^(\d+)(Mi|Gi)$/.exec(q);
  if (!m) throw new Error(`memory quantity ${q}: expected Mi or Gi`);
  return Number(m[1]) * (m[2] === 'Gi' ? 1024 : 1);
};
const preStopSeconds = (c: Container): number => {
  const stop = c.lifecycle?.preStop;
  if (stop?.sleep) return stop.sleep.seconds;
  const cmd = stop?.exec?.command ?? [];
  return cmd[0] === 'sleep' ? Number(cmd[1]) : NaN;
};

describe.each(['base', 'overlays/example'])('deploy/kubernetes/%s', (dir) => {
  let objects: K8sObject[];
  let config: Record<string, string>;
  beforeAll(() => {
    objects = kustomize(dir);
    config = named<K8sObject & { data: Record<string, string> }>(
      objects,
      'ConfigMap',
      'credential-broker-config',
    ).data;
  });
  const workloads = (): Workload[] => [
    ...byKind<Workload>(objects, 'Deployment'),
    ...byKind<Workload>(objects, 'Job'),
  ];

  it('renders the objects the deployment is made of', () => {
    const kinds = objects.map((o) => `${o.kind}/${o.metadata.name}`).sort();
    expect(kinds).toEqual(
      expect.arrayContaining([
        'ConfigMap/credential-broker-config',
        'Deployment/credential-broker-api',
        'Deployment/credential-broker-worker',
        'HorizontalPodAutoscaler/credential-broker-api',
        'Ingress/credential-broker',
        'Job/credential-broker-migrate',
        'PodDisruptionBudget/credential-broker-api',
        'PodDisruptionBudget/credential-broker-worker',
        'Service/credential-broker-api',
        'Service/credential-broker-worker-metrics',
        'ServiceAccount/credential-broker',
        'ServiceMonitor/credential-broker-api',
        'ServiceMonitor/credential-broker-worker',
      ]),
    );
    expect(objects.length).toBeGreaterThanOrEqual(13);
  });

  it("validates every object against Kubernetes' schemas (ServiceMonitor by hand)", () => {
    for (const o of objects) {
      if (o.apiVersion === 'monitoring.coreos.com/v1') continue; // no schema package installed
      const Model = modelFor(o.apiVersion, o.kind);
      expect(() => new Model(o).validate()).not.toThrow();
    }
  });

  it('gives every ServiceMonitor a Service it selects and a port that Service names', () => {
    const monitors = byKind<
      K8sObject & {
        spec: {
          selector: { matchLabels: Record<string, string> };
          endpoints: {
            port: string;
            path: string;
            authorization?: { type: string; credentials: { name: string; key: string } };
          }[];
        };
      }
    >(objects, 'ServiceMonitor');
    expect(monitors).toHaveLength(2);
    const services = byKind<K8sObject & { spec: { ports: { name: string }[] } }>(
      objects,
      'Service',
    );
    for (const m of monitors) {
      expect(m.apiVersion).toBe('monitoring.coreos.com/v1');
      expect(Object.keys(m.spec.selector.matchLabels).length).toBeGreaterThan(0);
      const selected = services.filter((s) =>
        matches(m.spec.selector.matchLabels, s.metadata.labels),
      );
      expect(selected).toHaveLength(1);
      expect(m.spec.endpoints.length).toBeGreaterThan(0);
      for (const e of m.spec.endpoints) {
        expect(selected[0].spec.ports.map((p) => p.name)).toContain(e.port);
        expect(e.path).toBe('/metrics');
        // METRICS_TOKEN is set from the Secret: the scrape must send it.
        expect(e.authorization).toEqual({
          type: 'Bearer',
          credentials: { name: 'credential-broker-secrets', key: 'metrics_token' },
        });
      }
    }
  });

  it('probes /health/live and /health/ready on PORT (api) and WORKER_HEALTH_PORT (worker)', () => {
    const cases = [
      ['credential-broker-api', Number(config.PORT), 'dist/src/main.js'],
      ['credential-broker-worker', Number(config.WORKER_HEALTH_PORT), 'dist/src/worker.js'],
    ] as const;
    for (const [name, port, entry] of cases) {
      const [c] = named<Workload>(objects, 'Deployment', name).spec.template.spec.containers;
      expect(c.command?.slice(-2)).toEqual(['node', entry]);
      const portOf = (p: number | string | undefined) =>
        typeof p === 'number' ? p : c.ports?.find((x) => x.name === p)?.containerPort;
      expect(c.livenessProbe?.httpGet?.path).toBe('/health/live');
      expect(c.readinessProbe?.httpGet?.path).toBe('/health/ready');
      expect(portOf(c.livenessProbe?.httpGet?.port)).toBe(port);
      expect(portOf(c.readinessProbe?.httpGet?.port)).toBe(port);
    }
    const [job] = named<Workload>(objects, 'Job', 'credential-broker-migrate').spec.template.spec
      .containers;
    expect(job.command?.slice(-2)).toEqual(['node', 'dist/src/database/migrate.js']);
  });

  it('drains before SIGTERM, with a grace period above SHUTDOWN_TIMEOUT_SECONDS + the pause', () => {
    const shutdown = Number(config.SHUTDOWN_TIMEOUT_SECONDS);
    expect(shutdown).toBeGreaterThan(0);
    for (const d of byKind<Workload>(objects, 'Deployment')) {
      const pod = d.spec.template.spec;
      const pause = preStopSeconds(pod.containers[0]);
      expect(pause).toBeGreaterThan(0);
      expect(pod.terminationGracePeriodSeconds).toBeGreaterThan(shutdown + pause);
    }
  });

  it('runs every container non-root, read-only, without capabilities, under RuntimeDefault', () => {
    for (const w of workloads()) {
      const pod = w.spec.template.spec;
      expect(pod.securityContext?.runAsNonRoot).toBe(true);
      expect(pod.securityContext?.seccompProfile?.type).toBe('RuntimeDefault');
      for (const c of pod.containers) {
        expect(c.securityContext).toMatchObject({
          allowPrivilegeEscalation: false,
          readOnlyRootFilesystem: true,
          capabilities: { drop: ['ALL'] },
        });
        for (const m of c.volumeMounts ?? []) {
          expect(pod.volumes?.map((v) => v.name)).toContain(m.name);
        }
      }
    }
    for (const d of byKind<Workload>(objects, 'Deployment')) {
      const pod = d.spec.template.spec;
      const tmp = pod.containers[0].volumeMounts?.find((m) => m.mountPath === '/tmp');
      expect(pod.volumes?.find((v) => v.name === tmp?.name)?.emptyDir).toBeDefined();
    }
  });

  it('sets requests and memory limits, the worker from the bench figure (487 MB peak RSS)', () => {
    for (const w of workloads()) {
      for (const c of w.spec.template.spec.containers) {
        expect(c.resources?.requests?.cpu).toBeDefined();
        expect(c.resources?.requests?.memory).toBeDefined();
        const limit = mebibytes(c.resources?.limits?.memory ?? '');
        expect(limit).toBeGreaterThanOrEqual(mebibytes(c.resources?.requests?.memory ?? ''));
      }
    }
    const [worker] = named<Workload>(objects, 'Deployment', 'credential-broker-worker').spec
      .template.spec.containers;
    expect(worker.resources).toMatchObject({
      requests: { memory: '512Mi' },
      limits: { memory: '768Mi' },
    });
    expect(mebibytes('512Mi') * 1.048576).toBeGreaterThan(487); // MiB vs MB
  });

  it('reads secrets from files of mounted volumes, never as literals in the manifests', () => {
    for (const w of workloads()) {
      const [c] = w.spec.template.spec.containers;
      for (const e of c.env ?? []) {
        if (!e.name.endsWith('_FILE') || e.value === undefined) continue;
        const mounted = c.volumeMounts?.some((m) => e.value?.startsWith(`${m.mountPath}/`));
        expect({ [e.name]: mounted }).toEqual({ [e.name]: true });
      }
      expect(c.env?.map((e) => e.name)).not.toContain('VAULT_TOKEN');
    }
    expect(byKind(objects, 'Secret')).toEqual([]);
  });

  it('points the Services, PDBs, HPA and Ingress at things that exist', () => {
    const pods = byKind<Workload>(objects, 'Deployment').map(
      (d) => d.spec.template.metadata?.labels,
    );
    const selects = (selector: Record<string, string>) => pods.some((l) => matches(selector, l));
    for (const s of byKind<K8sObject & { spec: { selector: Record<string, string> } }>(
      objects,
      'Service',
    )) {
      expect(selects(s.spec.selector)).toBe(true);
    }
    for (const p of byKind<
      K8sObject & { spec: { selector: { matchLabels: Record<string, string> } } }
    >(objects, 'PodDisruptionBudget')) {
      expect(selects(p.spec.selector.matchLabels)).toBe(true);
    }
    const hpa = named<
      K8sObject & { spec: { scaleTargetRef: { kind: string; name: string }; minReplicas: number } }
    >(objects, 'HorizontalPodAutoscaler', 'credential-broker-api');
    expect(
      named(objects, hpa.spec.scaleTargetRef.kind, hpa.spec.scaleTargetRef.name),
    ).toBeDefined();
    expect(hpa.spec.minReplicas).toBeGreaterThanOrEqual(2); // a PDB of minAvailable 1 can drain
    const ingress = named<
      K8sObject & {
        spec: { rules: { http: { paths: { backend: { service: { name: string } } }[] } }[] };
      }
    >(objects, 'Ingress', 'credential-broker');
    for (const rule of ingress.spec.rules) {
      for (const p of rule.http.paths)
        expect(named(objects, 'Service', p.backend.service.name)).toBeDefined();
    }
    for (const w of workloads()) {
      expect(w.spec.template.spec.serviceAccountName).toBe('credential-broker');
    }
  });

  it("holds a ConfigMap the broker's own configuration accepts (Kubernetes auth for Vault)", () => {
    const env = {
      ...config,
      DATABASE_URL: 'postgres://broker@postgres/broker',
      REDIS_URL: 'redis://redis:6379',
      AUTH_JWT_SECRET: 'k'.repeat(48),
      METRICS_TOKEN: 'm'.repeat(32),
    };
    const loaded = loadConfig(env);
    expect(loaded.env).toBe('production');
    expect(loaded.secretStore).toMatchObject({
      kind: 'vault',
      kubernetes: {
        role: 'credential-broker',
        mount: 'kubernetes',
        jwtFile: '/var/run/secrets/vault/token',
      },
    });
    // The pods mount that projected token.
    for (const d of byKind<Workload>(objects, 'Deployment')) {
      const [c] = d.spec.template.spec.containers;
      expect(
        c.volumeMounts?.some((m) => config.VAULT_K8S_TOKEN_FILE.startsWith(`${m.mountPath}/`)),
      ).toBe(true);
    }
  });
});

describe('deploy/kubernetes/overlays/example', () => {
  it('sets the image tag, PUBLIC_URL, replicas and the ingress host', () => {
    const objects = kustomize('overlays/example');
    for (const o of objects) expect(o.metadata.namespace).toBe('credential-broker');
    const worker = named<Workload & { spec: { replicas: number } }>(
      objects,
      'Deployment',
      'credential-broker-worker',
    );
    expect(worker.spec.replicas).toBe(3);
    expect(worker.spec.template.spec.containers[0].image).toBe(
      'registry.example.org/platform/credential-broker:0.1.0',
    );
    const cm = named<K8sObject & { data: Record<string, string> }>(
      objects,
      'ConfigMap',
      'credential-broker-config',
    );
    expect(cm.data.PUBLIC_URL).toBe('https://broker.tools.example.org');
    const ingress = named<K8sObject & { spec: { rules: { host: string }[] } }>(
      objects,
      'Ingress',
      'credential-broker',
    );
    expect(ingress.spec.rules[0].host).toBe(new URL(cm.data.PUBLIC_URL).host);
    // The example of an app protected by /auth/me calls the api's Service inside the cluster.
    const app = named(objects, 'Ingress', 'my-app');
    expect(app.metadata).toMatchObject({
      annotations: expect.objectContaining({
        'nginx.ingress.kubernetes.io/auth-url':
          'http://credential-broker-api.credential-broker.svc.cluster.local:3000/auth/me',
      }) as unknown,
    });
  });
});
