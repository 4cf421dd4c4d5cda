/**
 * What SIGHUP does to a server without workers: every `ssl:` listener reads its certificate and
 * key files again, for handshakes from now on, where its adapter can swap them in place; code
 * is reloaded only by a new generation of workers.
 *
 * @module
 */
import type { ReloadResult } from "./app.ts";
import { StreamServerEndpointService } from "./endpoint_service.ts";
import { serveEvent } from "./log.ts";
import type { ServeLog } from "./report.ts";
import { MultiService, type Service } from "./service.ts";

function sslListeners(service: Service): StreamServerEndpointService[] {
  if (service instanceof StreamServerEndpointService) return service.endpoint.type === "ssl" && service.port !== undefined ? [service] : [];
  if (service instanceof MultiService) return service.services.flatMap(sslListeners);
  return [];
}

/**
 * Reloads the certificate of every running `ssl:` listener under `root`, one line each.
 *
 * @param root The root service, running.
 * @param log Where the lines go.
 * @returns Ok if every `ssl:` listener took its files again; the lines joined with `; `.
 * @example
 * ```ts
 * import { reloadCertificates } from "./reload_certificates.ts";
 * import { StreamServerEndpointService } from "./endpoint_service.ts";
 * import { EchoFactory } from "../src/mod.ts";
 * const service = new StreamServerEndpointService("tcp:0", new EchoFactory());
 * await service.startService();
 * reloadCertificates(service, () => {}); // { ok: false, line: "SIGHUP: nothing to reload (…)" }
 * await service.stopService();
 * ```
 */
export function reloadCertificates(root: Service, log: ServeLog): ReloadResult {
  const listeners = sslListeners(root);
  if (listeners.length === 0) {
    const line = "SIGHUP: nothing to reload (no ssl: listener; run with --workers to reload code)";
    log(line, "notice", serveEvent("reload_nothing", "info"));
    return { ok: false, line };
  }
  const lines: string[] = [];
  let ok = true;
  for (const service of listeners) {
    const port = service.port!;
    const where = service.listeners()[0]!.where;
    if (port.reloadCertificate === undefined) {
      ok = false;
      const line = `Cannot reload the certificate of ${where} on the ${port.adapter} adapter in place: run with --workers 1 (a reload starts a new worker) or --adapter node`;
      log(line, "notice", serveEvent("reload_failed", "warn", { endpoint: where, adapter: port.adapter, error: "ENOTSUP" }));
      lines.push(line);
      continue;
    }
    try {
      port.reloadCertificate();
      const line = `Reloaded the certificate of ${where} (new connections; open ones keep theirs)`;
      log(line, "notice", serveEvent("reload_done", "info", { endpoint: where }));
      lines.push(line);
    } catch (error) {
      ok = false;
      const why = String((error as Error)?.message ?? error).split("\n")[0]!.replace(/^Cannot listen on \S+: /, "");
      const line = `Cannot reload the certificate of ${where}: ${why}; still serving the old one`;
      log(line, "error", serveEvent("reload_failed", "error", { endpoint: where, error: why }));
      lines.push(line);
    }
  }
  return { ok, line: lines.join("; ") };
}
