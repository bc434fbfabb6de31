// The page frame every dashboard page shares, and `render`, which answers with it. Everything interpolated here goes through hono's JSX,
// which escapes text and attribute values: agent-reported strings are never markup.
import type { Context } from "hono";
import type { Child } from "hono/jsx";
import type { HtmlEscapedString } from "hono/utils/html";
import type { DashboardCaller } from "./session.ts";

export function Layout(props: {
  title: string;
  caller?: DashboardCaller;
  scripts?: string[];
  styles?: string[];
  children?: Child;
}) {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{`${props.title} · Outpost`}</title>
        <link rel="stylesheet" href="/assets/dashboard.css" />
        {(props.styles ?? []).map((href) => (
          <link rel="stylesheet" href={href} />
        ))}
        {(props.scripts ?? []).map((src) => (
          <script type="module" src={src} />
        ))}
      </head>
      <body>
        {props.caller && (
          <nav>
            <a href="/">Hosts</a> <a href="/exposures">Exposures</a> <a href="/audit">Audit log</a>
            <span class="who">{props.caller.role}</span>
            <form method="post" action="/signout" class="inline">
              <input type="hidden" name="csrf" value={props.caller.csrf} />
              <button type="submit" id="signout">
                Sign out
              </button>
            </form>
          </nav>
        )}
        <main>
          <h1>{props.title}</h1>
          {props.children}
        </main>
      </body>
    </html>
  );
}

/** A table with one row of column headings; its rows are the children. */
export function Table(props: { id: string; head: string[]; children?: Child }) {
  return (
    <table id={props.id}>
      <thead>
        <tr>
          {props.head.map((h) => (
            <th>{h}</th>
          ))}
        </tr>
      </thead>
      <tbody>{props.children}</tbody>
    </table>
  );
}

/** An ISO 8601 time, or a dash. */
export function When(props: { at: Date | null | undefined }) {
  return <time>{props.at ? props.at.toISOString() : "—"}</time>;
}

/** The page as an HTML response, in standards mode (hono's JSX writes no doctype). */
export async function render(
  c: Context,
  page: HtmlEscapedString | Promise<HtmlEscapedString>,
  status: 200 | 401 | 403 = 200,
) {
  return c.html(`<!doctype html>${await page}`, status);
}
