import { RANK } from "../../auth/roles.ts";
import type { hostDetail } from "../data.ts";
import { Layout, Table, When } from "../layout.tsx";
import type { DashboardCaller } from "../session.ts";

type Detail = Awaited<ReturnType<typeof hostDetail>>;

function factValue(v: unknown): string {
  return typeof v === "string" ? v : JSON.stringify(v);
}

/** A job's steps as one line: argv joined by spaces, steps by ` ; `. */
function stepsText(steps: string[][]): string {
  return steps.map((argv) => argv.join(" ")).join(" ; ");
}

/**
 * A host: facts, labels, services, its sessions, apps, VMs and jobs. App and VM states and messages,
 * job argv and output come from agents and tenants: they are JSX text, never markup.
 */
export function HostPage(props: { caller: DashboardCaller; detail: Detail }) {
  const { host, fqdn, site, services, sessions, apps, vms, jobs } = props.detail;
  const mayOpen = RANK[props.caller.role] >= RANK.operator;
  const href = `/hosts/${encodeURIComponent(fqdn)}`;
  return (
    <Layout title={fqdn} caller={props.caller}>
      <p>
        <span class={`status ${host.status}`}>{host.revokedAt ? "revoked" : host.status}</span> · {site} ·
        last seen <When at={host.lastSeenAt} /> · {host.runtime ?? ""} {host.agentVersion ?? ""}
      </p>
      {mayOpen && (
        <p>
          <a class="button" id="open-terminal" href={`${href}/terminal`}>
            Open a terminal
          </a>
        </p>
      )}
      <section>
        <h2>Facts</h2>
        <table id="facts">
          <tbody>
            {Object.entries(host.facts).map(([k, v]) => (
              <tr>
                <th>{k}</th>
                <td>{factValue(v)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
      <section>
        <h2>Labels</h2>
        <ul>
          {Object.entries(host.labels).map(([k, v]) => (
            <li>{`${k}=${v}`}</li>
          ))}
        </ul>
      </section>
      <section>
        <h2>Services</h2>
        <ul>
          {services.map((s) => (
            <li>{`${s.name} → ${s.target}`}</li>
          ))}
        </ul>
      </section>
      <section>
        <h2>Apps</h2>
        <Table
          id="apps"
          head={["App", "Desired", "Release", "Status", "Restarts", "Health", "Message", "Reported"]}
        >
          {apps.map((a) => (
            <tr data-app={a.app}>
              <td>{a.app}</td>
              <td>{a.desired}</td>
              <td>{a.live === null || a.live === a.release ? `${a.release}` : `${a.live} → ${a.release}`}</td>
              <td class={`status ${a.status}`}>{a.status}</td>
              <td>{`${a.restarts}`}</td>
              <td>{a.health ?? ""}</td>
              <td>{a.message ?? ""}</td>
              <td>
                <When at={a.observedAt} />
              </td>
            </tr>
          ))}
        </Table>
      </section>
      <section>
        <h2>VMs</h2>
        <Table
          id="vms"
          head={[
            "VM",
            "Image",
            "Desired",
            "State",
            "CPUs",
            "Memory",
            "Ports",
            "Address",
            "Message",
            "Reported",
          ]}
        >
          {vms.map((v) => (
            <tr data-vm={v.name}>
              <td>{v.name}</td>
              <td>{v.image}</td>
              <td>{v.desired}</td>
              <td class={`status ${v.state}`}>{v.state}</td>
              <td>{`${v.cpus}`}</td>
              <td>{`${v.memoryMib} MiB`}</td>
              <td>{v.ports.map((p) => `${v.name}-${p}`).join(" ")}</td>
              <td>{v.address ?? ""}</td>
              <td>{v.message ?? ""}</td>
              <td>
                <When at={v.observedAt} />
              </td>
            </tr>
          ))}
        </Table>
      </section>
      <section>
        <h2>Jobs</h2>
        <Table id="jobs" head={["Created", "By", "Steps", "State", "Exit", "Output"]}>
          {jobs.map((j) => (
            <tr data-job={j.id}>
              <td>
                <When at={j.createdAt} />
              </td>
              <td>{j.createdBy}</td>
              <td class="argv">{stepsText(j.steps)}</td>
              <td class={`status ${j.state}`}>{j.state}</td>
              <td>{j.exitCode === null ? "" : `${j.exitCode}`}</td>
              <td>
                <pre class="stdout">{j.stdout}</pre>
                {j.stderr && <pre class="stderr">{j.stderr}</pre>}
              </td>
            </tr>
          ))}
        </Table>
      </section>
      <section>
        <h2>Sessions</h2>
        <Table id="sessions" head={["Started", "Kind", "Who", "Command", "Exit"]}>
          {sessions.map((s) => (
            <tr>
              <td>
                {s.recorded && mayOpen ? (
                  <a href={`/sessions/${s.id}`}>{s.startedAt.toISOString()}</a>
                ) : (
                  s.startedAt.toISOString()
                )}
              </td>
              <td>{s.kind}</td>
              <td>{s.by}</td>
              <td>{s.argv.join(" ")}</td>
              <td>{s.exitCode ?? s.endReason ?? (s.endedAt ? "" : "running")}</td>
            </tr>
          ))}
        </Table>
      </section>
    </Layout>
  );
}
