import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './processes';

/**
 * A real nginx in front of the broker, the way an ingress uses `/auth/me` (SPEC §9): every
 * request to `/app/` first asks the broker who is calling (`auth_request`), passes the answer on
 * to the app as `X-Auth-Request-User` / `X-Auth-Request-Email`, and sends a caller the broker
 * does not know to its sign-in (the oauth2-proxy pattern). Everything nginx writes stays in its
 * own temporary directory; it listens on a free loopback port and runs in the foreground as a
 * child of the test.
 */

export const NGINX_BIN = process.env.NGINX_BIN ?? '/usr/sbin/nginx';

export interface NginxOptions {
  /** The broker's origin (http://127.0.0.1:port). */
  upstream: string;
  /** The protected application behind `/app/`. */
  app: string;
  /** Protect `/app/` with the broker's `/auth/me`; false proxies it unprotected. */
  authRequest: boolean;
  /** The broker path the subrequest calls (default `/auth/me`). */
  authPath?: string;
}

export interface RunningNginx {
  url: string;
  dir: string;
  config: string;
  /** nginx's error log so far (startup problems, upstream errors). */
  errors(): string;
  stop(): Promise<void>;
}

/** The configuration: the same directives docs/ingress.md shows, with the test's paths. */
export function nginxConfig(dir: string, port: number, options: NginxOptions): string {
  const broker = options.upstream.replace(/\/+$/, '');
  const app = options.app.replace(/\/+$/, '');
  const protect = options.authRequest
    ? `
      auth_request /_auth;
      auth_request_set $user $upstream_http_x_auth_request_user;
      auth_request_set $email $upstream_http_x_auth_request_email;
      proxy_set_header X-Auth-Request-User $user;
      proxy_set_header X-Auth-Request-Email $email;
      error_page 401 = @login;`
    : '';
  return `daemon off;
master_process off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log info;
events { worker_connections 64; }
http {
  access_log ${dir}/access.log;
  client_body_temp_path ${dir}/tmp/client_body;
  proxy_temp_path ${dir}/tmp/proxy;
  fastcgi_temp_path ${dir}/tmp/fastcgi;
  uwsgi_temp_path ${dir}/tmp/uwsgi;
  scgi_temp_path ${dir}/tmp/scgi;

  server {
    listen 127.0.0.1:${port};

    location = /_nginx_up { return 204; }

    location /app/ {${protect}
      proxy_pass ${app};
    }

    location = /_auth {
      internal;
      proxy_method GET;
      proxy_pass ${broker}${options.authPath ?? '/auth/me'};
      proxy_pass_request_body off;
      proxy_set_header Content-Length "";
      proxy_set_header X-Original-URI $request_uri;
      proxy_set_header Cookie $http_cookie;
      proxy_set_header Authorization $http_authorization;
    }

    location @login {
      return 302 ${broker}/auth/login?provider=github&redirect_to=$scheme://$http_host$request_uri;
    }
  }
}
`;
}

export async function startNginx(options: NginxOptions): Promise<RunningNginx> {
  const dir = mkdtempSync(join(tmpdir(), 'cbk-nginx-'));
  mkdirSync(join(dir, 'tmp'));
  const port = await freePort();
  const config = nginxConfig(dir, port, options);
  writeFileSync(join(dir, 'nginx.conf'), config);
  // -e: the error log before the configuration is read (else nginx tries /var/log/nginx).
  const child: ChildProcess = spawn(
    NGINX_BIN,
    ['-p', dir, '-c', join(dir, 'nginx.conf'), '-e', join(dir, 'error.log')],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const errors = () => {
    try {
      return output + readFileSync(join(dir, 'error.log'), 'utf8');
    } catch {
      return output;
    }
  };
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
    rmSync(dir, { recursive: true, force: true });
  };

  let gone = false;
  void exited.then(() => (gone = true));
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (gone) {
      const why = errors();
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`nginx exited at start:\n${why}`);
    }
    try {
      if ((await fetch(`${url}/_nginx_up`)).status === 204) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      const why = errors();
      await stop();
      throw new Error(`nginx did not answer on ${url} within 10 s:\n${why}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { url, dir, config, errors, stop };
}
