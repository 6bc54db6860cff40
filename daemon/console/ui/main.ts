/** The console's shell: sign-in, navigation, the hash router and the one feed connection. */
import { api, ApiError, session, watchFeed, whenUnauthorized } from "./api.ts";
import { h, replace } from "./dom.ts";
import { errorText, type Page, type PageFactory } from "./page.ts";
import { applyPage } from "./pages/apply.ts";
import { machinesPage } from "./pages/machines.ts";
import { syslogPage } from "./pages/syslog.ts";
import { templatePage, templatesPage } from "./pages/templates.ts";
import { workflowPage } from "./pages/workflow.ts";
import { workflowsPage } from "./pages/workflows.ts";

/** Routes: a pattern of hash segments (`:` takes a parameter) and its page. */
const ROUTES: { path: string[]; nav: string; title: string; page: PageFactory }[] = [
  { path: ["machines"], nav: "machines", title: "Machines", page: machinesPage },
  { path: ["machines", ":", ":", "syslog"], nav: "machines", title: "Syslog", page: syslogPage },
  { path: ["workflows"], nav: "workflows", title: "Workflows", page: workflowsPage },
  { path: ["workflows", ":", ":"], nav: "workflows", title: "Workflow", page: workflowPage },
  { path: ["templates"], nav: "templates", title: "Templates", page: templatesPage },
  { path: ["templates", ":", ":"], nav: "templates", title: "Template", page: templatePage },
  { path: ["apply"], nav: "apply", title: "Apply", page: applyPage },
];
const NAV = [
  ["machines", "Machines"],
  ["workflows", "Workflows"],
  ["templates", "Templates"],
  ["apply", "Apply"],
] as const;

const app = document.getElementById("app")!;
let page: Page | undefined;
let stopFeed: (() => void) | undefined;
let shell: { main: HTMLElement; nav: HTMLElement; live: HTMLElement } | undefined;

function match(segments: string[]): { route: (typeof ROUTES)[number]; params: string[] } | undefined {
  for (const route of ROUTES) {
    if (route.path.length !== segments.length) continue;
    const params: string[] = [];
    if (route.path.every((p, i) => (p === ":" ? (params.push(segments[i]!), true) : p === segments[i]))) return { route, params };
  }
  return undefined;
}

function leavePage(): void {
  page?.dispose?.();
  page = undefined;
}

function signOut(): void {
  leavePage();
  stopFeed?.();
  stopFeed = undefined;
  shell = undefined;
  session.signOut();
  if (location.hash === "#/login") route();
  else location.hash = "#/login";
}

function buildShell(): NonNullable<typeof shell> {
  const nav = h("ul", { class: "nav" }, NAV.map(([id, label]) => h("li", null, h("a", { href: `#/${id}`, "data-nav": id }, label))));
  const live = h("span", { class: "live", role: "status", "aria-live": "polite" }, "connecting…");
  const main = h("main", { id: "main", tabindex: -1 });
  replace(
    app,
    h("a", { class: "skip", href: "#main", onclick: (e: Event) => (e.preventDefault(), main.focus()) }, "Skip to content"),
    h("header", { class: "top" }, h("span", { class: "brand" }, "Wisp"), h("nav", { "aria-label": "Main" }, nav), live, h("button", { type: "button", class: "link", onclick: signOut }, "Sign out")),
    main,
  );
  let everConnected = false;
  stopFeed = watchFeed({
    change: (e) => page?.change?.(e),
    reset: () => page?.reset?.(),
    connected: (on) => {
      // The page's first reads raced the feed's start: read again once it is up, so no change falls between.
      if (on && !everConnected) {
        everConnected = true;
        page?.reset?.();
      }
      live.textContent = on ? "live" : "reconnecting…";
      live.classList.toggle("on", on);
    },
  });
  return { main, nav, live };
}

function loginPage(): void {
  leavePage();
  stopFeed?.();
  stopFeed = undefined;
  shell = undefined;
  document.title = "Sign in · Wisp";
  const input = h("input", { id: "token", type: "password", autocomplete: "current-password", required: true, "aria-describedby": "token-help" });
  const error = h("div", { "aria-live": "assertive" });
  const submit = h("button", { type: "submit" }, "Sign in");
  const onSubmit = async (ev: Event) => {
    ev.preventDefault();
    const token = input.value.trim();
    if (!token) return;
    submit.disabled = true;
    try {
      await api("/templates", { token });
      session.signIn(token);
      location.hash = "#/workflows";
    } catch (e) {
      const text = e instanceof ApiError && e.status === 401 ? "That token was refused." : errorText(e);
      replace(error, h("p", { class: "alert", role: "alert" }, text));
      input.select();
    } finally {
      submit.disabled = false;
    }
  };
  replace(
    app,
    h(
      "main",
      { class: "login" },
      h(
        "form",
        { onsubmit: (ev: Event) => void onSubmit(ev) },
        h("h1", null, "Wisp console"),
        h("label", { for: "token" }, "API token"),
        input,
        h("p", { id: "token-help", class: "muted" }, "The token in <data-dir>/api-token on the wispd host (or --api-token). It is kept for this tab only."),
        error,
        submit,
      ),
    ),
  );
  input.focus();
}

function route(): void {
  const segments = location.hash.replace(/^#\/?/, "").split("/").filter(Boolean).map(decodeURIComponent);
  if (!session.token()) {
    if (segments[0] !== "login") location.hash = "#/login";
    return loginPage();
  }
  if (segments.length === 0 || segments[0] === "login") {
    location.hash = "#/workflows";
    return;
  }
  shell ??= buildShell();
  leavePage();
  const found = match(segments);
  for (const a of shell.nav.querySelectorAll<HTMLAnchorElement>("a[data-nav]")) {
    if (found && a.dataset.nav === found.route.nav) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  if (!found) {
    document.title = "Not found · Wisp";
    replace(shell.main, h("h1", null, "Not found"), h("p", null, "No such page. ", h("a", { href: "#/workflows" }, "Workflows")));
    return;
  }
  document.title = `${found.route.title} · Wisp`;
  page = found.route.page(shell.main, found.params);
}

whenUnauthorized(() => {
  if (session.token()) signOut();
});
window.addEventListener("hashchange", route);
route();
