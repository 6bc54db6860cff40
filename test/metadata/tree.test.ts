/**
 * The metadata tree from a Hardware spec: every leaf and listing of the EC2 tree, trailing
 * slashes, what is not found, public keys in EC2's form, byte-exact user-data and vendor-data,
 * the NoCloud meta-data YAML (read back by a YAML parser) and the /metadata JSON.
 */
import { describe, expect, test } from "bun:test";
import { parse as parseYaml } from "yaml";
import type { HardwareSpec } from "../../daemon/manifest/types.ts";
import { machineMetadata, nocloudMetaData, publicKeysOf, resolvePath, yamlString, type MetadataDir, type PathResult } from "../../daemon/metadata/tree.ts";

const ALICE = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEXAMPLEKEYaliceXXXXXXXXXXXXXXXXXXXXXXXXXXXX alice@laptop";
const BOB = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQEXAMPLEbob";

const FULL: HardwareSpec = {
  interfaces: [{ dhcp: { mac: "52:54:00:00:00:01", hostname: "dhcp-name", ip: { address: "10.0.0.5", netmask: "255.255.255.0" } } }],
  userData: "#cloud-config\nhostname: m1\n",
  vendorData: "#cloud-config\npackages: [htop]\n",
  metadata: {
    facility: { plan_slug: "c3.small.x86", facility_code: "lab1" },
    instance: {
      id: "i-0123",
      hostname: "m1.example",
      tags: ["rack-3", "gpu"],
      ssh_keys: [ALICE, BOB],
      operating_system: { slug: "ubuntu_22_04", distro: "ubuntu", version: "22.04", image_tag: "v1" },
      ips: [
        { address: "203.0.113.9", family: 4, public: true },
        { address: "10.0.0.5", family: 4, public: false },
        { address: "2001:db8::9", family: 6, public: true },
      ],
      storage: { disks: [{ device: "/dev/nvme0n1", wipe_table: true, partitions: [{ label: "ROOT", number: 1, size: 0 }] }] },
    },
  },
};

const text = (r: PathResult): string => {
  if (r.kind === "not-found") throw new Error("not found");
  return new TextDecoder().decode(r.body);
};
const at = (root: MetadataDir, path: string): string => text(resolvePath(root, path));

describe("EC2 tree", () => {
  const { ec2 } = machineMetadata(FULL);

  test("version root lists meta-data/, user-data and vendor-data", () => {
    expect(resolvePath(ec2, "")).toMatchObject({ kind: "listing" });
    expect(at(ec2, "")).toBe("meta-data/\nuser-data\nvendor-data");
    expect(at(ec2, "/")).toBe(at(ec2, ""));
  });

  test("meta-data/ lists every child, one a line, directories with a slash, no trailing newline", () => {
    const listing = "facility\nhostname\ninstance-id\niqn\nlocal-hostname\nlocal-ipv4\noperating-system/\nplan\npublic-ipv4\npublic-ipv6\npublic-keys/\ntags";
    expect(at(ec2, "meta-data")).toBe(listing);
    expect(at(ec2, "meta-data/")).toBe(listing);
  });

  test("every leaf, with and without a trailing slash", () => {
    const leaves: Record<string, string> = {
      "meta-data/instance-id": "i-0123",
      "meta-data/hostname": "m1.example",
      "meta-data/local-hostname": "m1.example",
      "meta-data/local-ipv4": "10.0.0.5",
      "meta-data/public-ipv4": "203.0.113.9",
      "meta-data/public-ipv6": "2001:db8::9",
      "meta-data/iqn": "",
      "meta-data/plan": "c3.small.x86",
      "meta-data/facility": "lab1",
      "meta-data/tags": "rack-3\ngpu",
      "meta-data/operating-system/slug": "ubuntu_22_04",
      "meta-data/operating-system/distro": "ubuntu",
      "meta-data/operating-system/version": "22.04",
      "meta-data/operating-system/image_tag": "v1",
      "meta-data/public-keys/0/openssh-key": ALICE,
      "meta-data/public-keys/1/openssh-key": BOB,
    };
    for (const [path, value] of Object.entries(leaves)) {
      expect(resolvePath(ec2, path)).toMatchObject({ kind: "leaf" });
      expect([path, at(ec2, path)]).toEqual([path, value]);
      expect([path, at(ec2, `${path}/`)]).toEqual([path, value]);
    }
  });

  test("listings below meta-data", () => {
    expect(at(ec2, "meta-data/operating-system/")).toBe("slug\ndistro\nversion\nimage_tag".split("\n").sort().join("\n"));
    expect(at(ec2, "meta-data/public-keys")).toBe("0=alice@laptop\n1=key-1");
    expect(at(ec2, "meta-data/public-keys/0")).toBe("openssh-key");
    expect(at(ec2, "meta-data/public-keys/1/")).toBe("openssh-key");
  });

  test("not found: unknown names, below a leaf, empty segments, bad escapes, other key indexes", () => {
    for (const path of ["nope", "meta-data/nope", "meta-data/instance-id/x", "meta-data//hostname", "//", "meta-data/public-keys/2/openssh-key", "meta-data/public-keys/alice@laptop", "meta-data/%zz", "dynamic/"]) {
      expect([path, resolvePath(ec2, path).kind]).toEqual([path, "not-found"]);
    }
  });

  test("percent-escapes decode: meta-data/instance%2Did", () => {
    expect(at(ec2, "meta-data/instance%2Did")).toBe("i-0123");
  });

  test("an empty spec still has every meta-data leaf (empty), no user-data or vendor-data", () => {
    const empty = machineMetadata({}).ec2;
    expect(at(empty, "")).toBe("meta-data/");
    for (const leaf of ["instance-id", "hostname", "local-ipv4", "public-ipv4", "tags", "operating-system/slug"]) expect(at(empty, `meta-data/${leaf}`)).toBe("");
    expect(at(empty, "meta-data/public-keys/")).toBe("");
    expect(resolvePath(empty, "user-data").kind).toBe("not-found");
    expect(resolvePath(empty, "vendor-data").kind).toBe("not-found");
  });

  test("fallbacks: hostname from the interface, local-ipv4 from the interface address, family inferred", () => {
    const ec2b = machineMetadata({
      interfaces: [{ dhcp: { hostname: "from-dhcp", ip: { address: "10.1.1.1" } } }],
      metadata: { instance: { ips: [{ address: "2001:db8::1" }, { address: "198.51.100.1", public: true }] } },
    }).ec2;
    expect(at(ec2b, "meta-data/hostname")).toBe("from-dhcp");
    expect(at(ec2b, "meta-data/local-ipv4")).toBe("10.1.1.1");
    expect(at(ec2b, "meta-data/public-ipv4")).toBe("198.51.100.1");
    expect(at(ec2b, "meta-data/public-ipv6")).toBe("2001:db8::1");
  });

  test("each address leaf is its own entry, not the first of the list (Tinkerbell's Ips[0] slip)", () => {
    const ec2c = machineMetadata({ metadata: { instance: { ips: [{ address: "10.0.0.1", family: 4 }, { address: "203.0.113.1", family: 4, public: true }] } } }).ec2;
    expect([at(ec2c, "meta-data/local-ipv4"), at(ec2c, "meta-data/public-ipv4")]).toEqual(["10.0.0.1", "203.0.113.1"]);
  });
});

describe("user-data and vendor-data are served byte for byte", () => {
  const cases: Record<string, string> = {
    "no trailing newline": "#!/bin/sh\necho hi",
    "two trailing newlines": "#cloud-config\n\n",
    "CRLF and tabs": "#cloud-config\r\nruncmd:\r\n\t- [echo, hi]\r\n",
    "UTF-8": "#cloud-config\nwrite_files: [{path: /etc/motd, content: \"Grüße, 世界 🚀\"}]\n",
    "control and C1 characters": "\u0000\u0001\u001b[31m\u007f\u0085\u009f\ufeff\ufffd end",
    "leading and trailing blanks": "  \n  x  \n  ",
    empty: "",
  };
  for (const [name, value] of Object.entries(cases)) {
    test(name, () => {
      const md = machineMetadata({ userData: value, vendorData: value });
      const expected = Buffer.from(value, "utf8");
      for (const [root, path] of [[md.ec2, "user-data"], [md.ec2, "vendor-data"], [md.nocloud, "user-data"], [md.nocloud, "vendor-data"]] as const) {
        const r = resolvePath(root, path);
        expect(r.kind).toBe("leaf");
        expect(Buffer.from((r as { body: Uint8Array }).body).equals(expected)).toBe(true);
      }
    });
  }

  test("spec.userData wins over the legacy metadata.instance.userdata, which is used alone", () => {
    expect(at(machineMetadata({ userData: "new", metadata: { instance: { userdata: "old" } } }).ec2, "user-data")).toBe("new");
    expect(at(machineMetadata({ metadata: { instance: { userdata: "old" } } }).ec2, "user-data")).toBe("old");
  });

  test("NoCloud serves empty user-data and vendor-data when unset (cloud-init requires user-data there)", () => {
    const { nocloud } = machineMetadata({});
    expect(at(nocloud, "")).toBe("meta-data\nuser-data\nvendor-data");
    expect([at(nocloud, "user-data"), at(nocloud, "vendor-data")]).toEqual(["", ""]);
  });
});

describe("public keys", () => {
  test("named by comment, else key-<n>; unique names; one key a line; blanks dropped", () => {
    const keys = publicKeysOf({ ssh_keys: [ALICE, `${BOB} bob`, `${BOB} bob`, "  ", `command="x y" ${BOB} a comment`, `${ALICE}\n${BOB}`] });
    expect(keys.map((k) => k.name)).toEqual(["alice@laptop", "bob", "bob-2", "key-3", "alice@laptop-4", "key-5"]);
    expect(keys[3]!.key).toBe(`command="x y" ${BOB} a comment`);
    expect(keys[5]!.key).toBe(BOB);
  });

  test("ignores what is not a string", () => {
    expect(publicKeysOf({ ssh_keys: [42 as unknown as string, ALICE] }).map((k) => k.key)).toEqual([ALICE]);
  });
});

describe("NoCloud meta-data", () => {
  test("instance-id, local-hostname and public-keys as YAML", () => {
    const text = nocloudMetaData(FULL);
    expect(parseYaml(text)).toEqual({ "instance-id": "i-0123", "local-hostname": "m1.example", "public-keys": [ALICE, BOB] });
  });

  test("empty spec: an empty mapping", () => {
    expect(parseYaml(nocloudMetaData({}))).toEqual({});
  });

  test("values that YAML would misread stay strings; output is ASCII", () => {
    for (const value of ["yes", "1e3", "null", "- x", "a: b", "#c", '"q"\\', "ä\u0085\ufffe😀", "\ud800", "multi\nline"]) {
      const quoted = yamlString(value);
      expect(/^[\x20-\x7e]*$/.test(quoted)).toBe(true);
      const back = parseYaml(`v: ${quoted}`).v;
      expect(back).toBe(value === "\ud800" ? "\ufffd" : value);
    }
  });
});

describe("/metadata JSON", () => {
  test("the instance as stored, under metadata.instance (storage for partitioning actions)", () => {
    const json = JSON.parse(new TextDecoder().decode(machineMetadata(FULL).json));
    expect(json).toEqual({ metadata: { instance: FULL.metadata!.instance } });
    expect(json.metadata.instance.storage.disks[0].device).toBe("/dev/nvme0n1");
  });

  test("no instance: an empty one", () => {
    expect(new TextDecoder().decode(machineMetadata({}).json)).toBe('{"metadata":{"instance":{}}}');
  });
});
