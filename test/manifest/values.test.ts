import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { normalizeMac } from "../../daemon/manifest/parse.ts";
import { checkAnyNetmask, checkIPv4Cidr, checkNetmask, parseIPv4, parseIPv6 } from "../../daemon/manifest/values.ts";
import { formatPath, suggest } from "../../daemon/manifest/schema.ts";

describe("normalizeMac", () => {
  test("every common notation, any case", () => {
    for (const s of ["1c:69:7a:11:22:33", "1C:69:7A:11:22:33", "1c-69-7a-11-22-33", "1C69.7A11.2233", "1c697a112233", " 1c:69:7a:11:22:33\n"]) {
      expect(normalizeMac(s)).toBe("1c:69:7a:11:22:33");
    }
  });

  test("not a MAC", () => {
    for (const s of ["", "zz", "1c:69:7a:11:22", "1c:69:7a:11:22:33:44", "1c:69-7a:11:22:33", "1c69.7a11.22", "1c697a11223g", "1:2:3:4:5:6"]) {
      expect(normalizeMac(s)).toBeUndefined();
    }
  });

  test("round trip of any six bytes in every notation", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 6, maxLength: 6 }), (bytes) => {
        const hex = [...bytes].map((b) => b.toString(16).padStart(2, "0"));
        const want = hex.join(":");
        const forms = [hex.join(":").toUpperCase(), hex.join("-"), hex.join(""), `${hex[0]}${hex[1]}.${hex[2]}${hex[3]}.${hex[4]}${hex[5]}`];
        return forms.every((f) => normalizeMac(f) === want);
      }),
    );
  });
});

describe("addresses", () => {
  test("IPv4", () => {
    expect(parseIPv4("192.168.1.8")).toEqual([192, 168, 1, 8]);
    for (const s of ["256.1.1.1", "1.1.1", "1.1.1.1.1", "01.1.1.1", "1.1.1.-1", "a.b.c.d", ""]) expect(parseIPv4(s)).toBeUndefined();
  });

  test("IPv6", () => {
    expect(parseIPv6("::")).toEqual(new Array(16).fill(0));
    expect(parseIPv6("2001:db8::1")!.slice(0, 4)).toEqual([0x20, 0x01, 0x0d, 0xb8]);
    expect(parseIPv6("::ffff:192.168.1.8")!.slice(12)).toEqual([192, 168, 1, 8]);
    for (const s of ["1::2::3", "12345::", "1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7", "g::"]) expect(parseIPv6(s)).toBeUndefined();
  });

  test("netmasks", () => {
    for (const m of ["255.255.255.0", "255.255.255.255", "0.0.0.0", "255.128.0.0"]) expect(checkNetmask(m)).toBeUndefined();
    for (const m of ["255.0.255.0", "0.255.255.255", "255.255.255.1"]) expect(checkNetmask(m)).toContain("not contiguous");
    expect(checkAnyNetmask("ffff:ffff::")).toBeUndefined();
    expect(checkIPv4Cidr("10.0.0.0/8")).toBeUndefined();
    expect(checkIPv4Cidr("10.0.0.0")).toBeDefined();
  });
});

describe("helpers", () => {
  test("field paths", () => {
    expect(formatPath(["spec", "interfaces", 0, "dhcp", "lease_time"])).toBe("spec.interfaces[0].dhcp.lease_time");
    expect(formatPath(["metadata", "labels", "app.kubernetes.io/name"])).toBe('metadata.labels["app.kubernetes.io/name"]');
    expect(formatPath([2, "spec"])).toBe("[2].spec");
    expect(formatPath(["tasks", 0, "actions", 1, "on-failure"])).toBe("tasks[0].actions[1].on-failure");
  });

  test("suggestions: case and separators first, then small edit distances", () => {
    const known = ["allowPXE", "allowWorkflow", "ipxe", "osie"];
    expect(suggest("allowPxe", known)).toBe("allowPXE");
    expect(suggest("allow_pxe", known)).toBe("allowPXE");
    expect(suggest("allowWorkfow", known)).toBe("allowWorkflow");
    expect(suggest("ipx", known)).toBe("ipxe");
    expect(suggest("kernel", known)).toBeUndefined();
    expect(suggest("env", ["environment"], { env: "environment" })).toBe("environment");
  });
});
