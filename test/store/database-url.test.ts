/**
 * `--database-url` as libpq reads it (daemon/store/url.ts): the forms psql takes, unix socket
 * directories among them, what postgres.js is then given, and errors that name the part and the
 * character but never the password (also for mutated URLs, seeded).
 */
import { describe, expect, test } from "bun:test";
import { loadConfig } from "../../daemon/config.ts";
import { parseDatabaseUrl, postgresConnection, type DatabaseUrl } from "../../daemon/store/url.ts";
import { fuzzSeed, FUZZ_SCALE, prng } from "../support/fuzz.ts";

const parsed = (text: string): DatabaseUrl => {
  const r = parseDatabaseUrl(text);
  if (!r.ok) throw new Error(`${text}: ${r.error}`);
  return r.value;
};
const refusal = (text: string): string => {
  const r = parseDatabaseUrl(text);
  if (r.ok) throw new Error(`${text} was accepted: ${JSON.stringify(r.value)}`);
  return r.error;
};
/** What postgres.js gets for `text` with no PG* variables. */
const connection = (text: string, env: Record<string, string> = {}) => {
  const r = postgresConnection(parsed(text), env);
  if (!r.ok) throw new Error(`${text}: ${r.error}`);
  return r.value;
};

describe("libpq URLs with a unix socket directory", () => {
  test("?host=/dir: the socket file in postgres.js's path, the port 5432 unless given", () => {
    expect(parsed("postgresql:///db?host=/var/run/postgresql")).toEqual({ hosts: [{ host: "/var/run/postgresql", port: undefined }], database: "db", user: undefined, password: undefined, params: "" });
    expect(connection("postgresql:///db?host=/var/run/postgresql")).toEqual({
      url: "postgres:///",
      options: { path: "/var/run/postgresql/.s.PGSQL.5432", database: "db" },
      location: "/var/run/postgresql/.s.PGSQL.5432",
    });
  });

  test("a user before an empty host (the URL class refuses it), ?host= and ?port=", () => {
    expect(connection("postgresql://user@/db?host=/dir&port=5433")).toEqual({
      url: "postgres:///",
      options: { path: "/dir/.s.PGSQL.5433", user: "user", database: "db" },
      location: "/dir/.s.PGSQL.5433",
    });
    // The order of the query does not matter; a port in the host part stays with ?host=.
    expect(connection("postgresql://user@/db?port=5433&host=/dir").options.path).toBe("/dir/.s.PGSQL.5433");
    expect(connection("postgresql://user@:5434/db?host=/dir").options.path).toBe("/dir/.s.PGSQL.5434");
    expect(connection("postgres://postgres@/postgres?host=%2Fdir").options.path).toBe("/dir/.s.PGSQL.5432");
  });

  test("the directory percent-encoded as the host, with or without a port", () => {
    expect(connection("postgresql://%2Fvar%2Frun%2Fpostgresql/db")).toEqual({
      url: "postgres:///",
      options: { path: "/var/run/postgresql/.s.PGSQL.5432", database: "db" },
      location: "/var/run/postgresql/.s.PGSQL.5432",
    });
    expect(connection("postgresql://u:pw@%2ftmp%2fpg%2F:6000/db").options).toEqual({ path: "/tmp/pg/.s.PGSQL.6000", user: "u", pass: "pw", database: "db" });
  });

  test("PGPORT gives the socket's port when the URL has none, as postgres.js and libpq read it", () => {
    expect(connection("postgresql:///db?host=/run/pg", { PGPORT: "6432" }).options.path).toBe("/run/pg/.s.PGSQL.6432");
    expect(connection("postgresql:///db?host=/run/pg&port=7000", { PGPORT: "6432" }).options.path).toBe("/run/pg/.s.PGSQL.7000");
  });

  test("sslmode and other parameters go on to postgres.js as written; user, password and dbname in the query win", () => {
    const c = connection("postgresql://a:b@/x?host=/s&sslmode=disable&application_name=wisp%20one&user=c&password=p%26q&dbname=y&connect_timeout=5");
    expect(c.url).toBe("postgres:///?sslmode=disable&application_name=wisp%20one&connect_timeout=5");
    expect(c.options).toEqual({ path: "/s/.s.PGSQL.5432", user: "c", pass: "p&q", database: "y" });
  });

  test("a socket path longer than a unix socket address holds is refused when connecting", () => {
    const dir = `/${"d".repeat(100)}`;
    const r = postgresConnection(parsed(`postgresql:///db?host=${dir}`), {});
    expect(r.ok).toBe(false);
    expect(!r.ok && r.error).toContain("longer than the 107 bytes");
  });
});

describe("TCP URLs", () => {
  test("user, password, host, port, database and parameters as before", () => {
    expect(connection("postgres://wisp:s%40cret@db.example:6543/wisp?sslmode=require")).toEqual({
      url: "postgres:///?sslmode=require",
      options: { host: ["db.example"], port: [6543], user: "wisp", pass: "s@cret", database: "wisp" },
      location: "db.example:6543",
    });
    expect(connection("postgres://postgres@127.0.0.1:40123/postgres").options).toEqual({ host: ["127.0.0.1"], port: [40123], user: "postgres", database: "postgres" });
  });

  test("an IPv6 address in brackets, several hosts each with its port or the default", () => {
    expect(connection("postgresql://[::1]:5433/db")).toMatchObject({ options: { host: ["::1"], port: [5433] }, location: "[::1]:5433" });
    expect(connection("postgresql://a:1,b/db", { PGPORT: "6000" })).toMatchObject({ options: { host: ["a", "b"], port: [1, 6000] }, location: "a:1,b:6000" });
    expect(connection("postgresql:///db?host=a,b&port=7,8").options).toMatchObject({ host: ["a", "b"], port: [7, 8] });
  });

  test("no host: postgres.js's default (PGHOST, a directory there too, else localhost)", () => {
    expect(connection("postgres:///postgres")).toEqual({ url: "postgres:///", options: { database: "postgres" }, location: "localhost:5432" });
    expect(connection("postgres:///postgres", { PGHOST: "/run/pg", PGPORT: "5500" }).location).toBe("/run/pg/.s.PGSQL.5500");
    expect(connection("postgres://:5433/postgres", { PGHOST: "db" })).toMatchObject({ options: { port: 5433 }, location: "db:5433" });
  });

  test("a database name is percent-decoded; '+' stays '+' as in libpq", () => {
    expect(parsed("postgresql://h/my%20db+x").database).toBe("my db+x");
  });
});

describe("URLs that cannot be understood", () => {
  test.each([
    ["mysql://h/db", "expected a postgres:// URL"],
    ["postgres:/h/db", "expected a postgres:// URL"],
    ["postgresql://h:0/db", "the port at character 16: expected a number 1-65535"],
    ["postgresql://h:65536/db", "the port at character 16"],
    ["postgresql://h:x1/db", "the port at character 16"],
    ["postgresql://[::1/db", "the host at character 14: an IPv6 address needs its closing"],
    ["postgresql://[::1]x/db", 'expected ":port" after "]"'],
    ["postgresql://a,,b/db", "the host at character 16: empty in a list of hosts"],
    ["postgresql://h/db?host=var/run", "the query parameter host at character 19: a socket directory must be an absolute path"],
    ["postgresql://h%20x/db", "white space or control characters"],
    ["postgresql://h/db%zz", "the database name: invalid percent-encoding at character 18"],
    ["postgresql://h/db%00", "invalid percent-encoding"],
    ["postgresql://h/db?sslmode", "the query parameter at character 19: expected key=value"],
    ["postgresql://h/db?hostaddr=10.0.0.1", "hostaddr at character 19: not supported"],
    ["postgresql://h/db?port=1,2,3", "3 ports for 1 hosts"],
    ["postgresql://run%2Fpg/db", "the host at character 14: a socket directory must be an absolute path"],
    ["postgresql://a,b/db?host=/run/pg,c", "cannot be one of several hosts"],
    ["postgresql://a/db?host=/run/pg,c", "cannot be one of several hosts"],
  ])("%s: %s", (text, message) => {
    expect(refusal(text)).toContain(message);
  });

  test("the password is never in the error, wherever the mistake is", () => {
    // A raw '/' or '?' in the password ends the host part there: the '@' after it is the clue.
    expect(refusal("postgres://wisp:Qz9/Kx@h/db")).toBe('a raw "@" at character 23, after the host: write it as %40 (and a "/" or "?" in a password as %2F or %3F)');
    expect(refusal("postgres://wisp:Qz9?Kx@h/db")).toContain('a raw "@" at character 23');
    expect(refusal("postgres://h/db?password=Qz9@Kx")).toContain('a raw "@" at character 29');
    expect(refusal("postgres://wisp:Qz9%GKx@h/db")).toBe('the password: invalid percent-encoding at character 20 (expected "%" and two hex digits, not %00)');
    expect(refusal("postgres://h/db?password=Qz9%Kx")).toContain("the query parameter password at character 17: invalid percent-encoding at character 29");
    expect(refusal("postgres://h/db?Qz9Kx")).not.toContain("Qz9");
  });

  test("mutated URLs: never a throw, never the password in an error or a location (seeded)", () => {
    const seed = fuzzSeed(0x5a17);
    const next = prng(seed);
    const pool = [
      "postgresql://wisp:Qz9Kx@db.example:5432/wisp?sslmode=require",
      "postgresql://wisp:Qz9%21Kx@/wisp?host=/var/run/postgresql&port=5433",
      "postgresql:///wisp?host=%2Frun%2Fpg&user=wisp&password=Qz9Kx",
      "postgres://wisp:Qz9Kx@%2Frun%2Fpg:6000/wisp",
      "postgres://wisp:Qz9Kx@[::1]:5432,b:5433/wisp",
    ];
    const alphabet = "/@:%?&=,[]# +x0Q";
    const runs = 20_000 * FUZZ_SCALE;
    let accepted = 0;
    for (let i = 0; i < runs; i++) {
      let text = pool[next() % pool.length]!;
      for (let m = 1 + (next() % 3); m > 0; m--) {
        const at = next() % (text.length + 1);
        const op = next() % 3;
        const ch = alphabet[next() % alphabet.length]!;
        text = op === 0 ? text.slice(0, at) + ch + text.slice(at) : op === 1 ? text.slice(0, at) + text.slice(at + 1) : text.slice(0, at) + ch + text.slice(at + 1);
      }
      const r = parseDatabaseUrl(text);
      // What is shown: the error, or the location logged ("store opened"); other parameters go to the server only.
      const c = r.ok ? postgresConnection(r.value, {}) : r;
      const shown = c.ok ? c.value.location : c.error;
      if (/Qz9|z9K|9Kx/.test(shown)) throw new Error(`iteration ${i} (seed ${seed}): ${JSON.stringify(text)} showed the password: ${shown}`);
      if (r.ok) accepted++;
    }
    // The mutations leave some URLs valid and break others: both paths ran.
    expect(accepted).toBeGreaterThan(runs / 20);
    expect(accepted).toBeLessThan(runs);
  });
});

describe("wispd's configuration", () => {
  test("a URL that cannot be understood names --database-url (or where it came from), never the password", () => {
    expect(() => loadConfig(["--database-url", "postgresql://wisp:Qz9/Kx@h/db"], {})).toThrow('--database-url: a raw "@" at character 25, after the host');
    expect(() => loadConfig([], { WISP_DATABASE_URL: "postgresql://wisp:Qz9Kx@h:99999/db" })).toThrow("WISP_DATABASE_URL: the port at character 27");
    for (const bad of ["postgresql://wisp:Qz9/Kx@h/db", "postgresql://wisp:Qz9%Kx@h/db", "mysql://wisp:Qz9Kx@h/db"]) {
      let message = "";
      try {
        loadConfig(["--database-url", bad], {});
      } catch (e) {
        message = (e as Error).message;
      }
      expect(message).toStartWith("--database-url: ");
      expect(message).not.toContain("Qz9");
    }
  });

  test("the socket forms are accepted as given", () => {
    for (const url of ["postgresql:///db?host=/var/run/postgresql", "postgresql://user@/db?host=/dir&port=5433", "postgresql://%2Fvar%2Frun%2Fpostgresql/db", "postgres://u:p@h:5432/db"]) {
      expect(loadConfig(["--database-url", url], {}).databaseUrl).toBe(url);
    }
  });
});
