import type { Context } from "hono";
import { matchedRoutes } from "hono/route";

// What a request asks for, as audit events name it (`host.exec`, `cluster.create`): one name per
// route, the same name the route writes when it succeeds. A route missing here still gets a name of
// that shape, from its path (`POST /v1/apps/:app/deploy` → `app.deploy`), never the raw route.

const ACTIONS: Record<string, string> = {
  "POST /v1/tenants": "tenant.create",
  "GET /v1/tenants": "tenant.list",
  "POST /v1/tenant-domains": "tenant.domain.add",
  "GET /v1/tenant-domains": "tenant.domain.list",
  "DELETE /v1/tenant-domains/:domain": "tenant.domain.remove",
  "GET /v1/keys": "key.list",
  "POST /v1/keys": "key.create",
  "DELETE /v1/keys/:id": "key.revoke",
  "GET /v1/clusters": "cluster.list",
  "POST /v1/clusters": "cluster.create",
  "GET /v1/clusters/:cluster": "cluster.read",
  "DELETE /v1/clusters/:cluster": "cluster.delete",
  "GET /v1/clusters/:cluster/sites": "site.list",
  "POST /v1/clusters/:cluster/sites": "site.create",
  "GET /v1/clusters/:cluster/sites/:site": "site.read",
  "DELETE /v1/clusters/:cluster/sites/:site": "site.delete",
  "GET /v1/sites": "site.list",
  "GET /v1/tokens": "token.list",
  "POST /v1/tokens": "token.create",
  "DELETE /v1/tokens/:id": "token.revoke",
  "GET /v1/hosts": "host.list",
  "GET /v1/hosts/:host": "host.read",
  "POST /v1/hosts/:host/revoke": "host.revoke",
  "DELETE /v1/hosts/:host": "host.delete",
  "GET /v1/hosts/:host/exec": "host.exec",
  "GET /v1/hosts/:host/tcp": "host.tcp",
  "GET /v1/hosts/:host/services": "service.list",
  "POST /v1/hosts/:host/services": "service.add",
  "DELETE /v1/hosts/:host/services/:name": "service.remove",
  "GET /v1/mesh": "mesh.list",
  "POST /v1/mesh": "mesh.add",
  "DELETE /v1/mesh/:id": "mesh.remove",
  "GET /v1/exposures": "expose.list",
  "POST /v1/exposures": "expose.create",
  "DELETE /v1/exposures/:name": "expose.remove",
  "POST /v1/exposures/:name/links": "expose.link",
  "DELETE /v1/exposures/:name/links": "expose.revoke_links",
  "GET /v1/audit": "audit.list",
  "GET /v1/sessions": "session.list",
  "GET /v1/vm-images": "vm.image.list",
  "GET /v1/vm-images/:name": "vm.image.read",
  "PUT /v1/vm-images/:name": "vm.image.push",
  "DELETE /v1/vm-images/:name": "vm.image.remove",
};

const VERBS: Record<string, string> = { POST: "create", PUT: "update", PATCH: "update", DELETE: "delete" };

function _singular(word: string): string {
  return word.endsWith("s") && !word.endsWith("ss") ? word.slice(0, -1) : word;
}

/** The action `method` on the route registered as `path` (hono's routePath) stands for. */
function actionName(method: string, path: string): string {
  const known = ACTIONS[`${method} ${path}`];
  if (known) return known;
  const segments = path.split("/").filter((s) => s && s !== "v1" && s !== "*");
  const words = segments.filter((s) => !s.startsWith(":"));
  if (words.length === 0) return "api.request";
  const noun = _singular(words[0]!);
  if (words.length > 1) return [noun, ...words.slice(1)].join(".");
  const onOne = segments[segments.length - 1]!.startsWith(":");
  const verb = VERBS[method] ?? (onOne ? "read" : "list");
  return `${noun}.${verb}`;
}

/** The action a request asks for: its method on the route that handles it (not a middleware's). */
export function requestAction(c: Context): string {
  const routes = matchedRoutes(c).filter((r) => r.method !== "ALL");
  return actionName(c.req.method, routes[routes.length - 1]?.path ?? c.req.path);
}
