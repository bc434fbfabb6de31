import type { HostFilter, HostRow } from "../data.ts";
import { Layout, Table } from "../layout.tsx";
import type { DashboardCaller } from "../session.ts";

function labelText(labels: Record<string, string>): string {
  return Object.entries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(", ");
}

/** One row; client/hosts.ts builds the same cells (with textContent) when it refreshes the table. */
function Row(props: { host: HostRow }) {
  const h = props.host;
  return (
    <tr data-fqdn={h.fqdn}>
      <td>
        <a href={`/hosts/${encodeURIComponent(h.fqdn)}`}>{h.fqdn}</a>
      </td>
      <td class={`status ${h.status}`}>{h.status}</td>
      <td>{h.site}</td>
      <td>{h.hostname}</td>
      <td>{labelText(h.labels)}</td>
      <td>{h.lastSeenAt ?? "—"}</td>
    </tr>
  );
}

export function HostsPage(props: { caller: DashboardCaller; hosts: HostRow[]; filter: HostFilter }) {
  const f = props.filter;
  return (
    <Layout title="Hosts" caller={props.caller} scripts={["/assets/hosts.js"]}>
      <form method="get" action="/" class="filters">
        <input name="q" placeholder="search names" value={f.q ?? ""} />
        <input name="cluster" placeholder="cluster" value={f.cluster ?? ""} />
        <input name="site" placeholder="site" value={f.site ?? ""} />
        <input name="label" placeholder="label key=value" value={f.label ?? ""} />
        <button type="submit">Filter</button>
      </form>
      <Table id="hosts" head={["Host", "Status", "Site", "Hostname", "Labels", "Last seen"]}>
        {props.hosts.map((h) => (
          <Row host={h} />
        ))}
      </Table>
      {props.hosts.length === 0 && <p>No hosts match.</p>}
    </Layout>
  );
}
