// Live status on the hosts page: refetches the table's rows (with the page's filters) every few
// seconds and rebuilds them with textContent only: agent-reported strings never become markup.
interface HostRow {
  fqdn: string;
  status: string;
  site: string;
  hostname: string;
  labels: Record<string, string>;
  lastSeenAt: string | null;
}

const REFRESH_MS = 3000;

function cell(text: string, className?: string): HTMLTableCellElement {
  const td = document.createElement("td");
  td.textContent = text;
  if (className) td.className = className;
  return td;
}

function row(h: HostRow): HTMLTableRowElement {
  const tr = document.createElement("tr");
  tr.dataset.fqdn = h.fqdn;
  const link = document.createElement("a");
  link.href = `/hosts/${encodeURIComponent(h.fqdn)}`;
  link.textContent = h.fqdn;
  const first = document.createElement("td");
  first.appendChild(link);
  const labels = Object.entries(h.labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(", ");
  const cells = [
    first,
    cell(h.status, `status ${h.status}`),
    cell(h.site),
    cell(h.hostname),
    cell(labels),
    cell(h.lastSeenAt ?? "—"),
  ];
  for (const td of cells) tr.appendChild(td);
  return tr;
}

async function refresh(body: HTMLTableSectionElement): Promise<void> {
  const res = await fetch(`/hosts.json${location.search}`, { headers: { accept: "application/json" } });
  if (res.status === 401) {
    location.href = "/signin";
    return;
  }
  if (!res.ok) return;
  const { items } = (await res.json()) as { items: HostRow[] };
  body.textContent = "";
  for (const h of items) body.appendChild(row(h));
}

const body = document.querySelector<HTMLTableSectionElement>("#hosts tbody");
if (body) {
  setInterval(() => {
    refresh(body).catch(() => {});
  }, REFRESH_MS);
}
