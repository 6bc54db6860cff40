"""cloud-init's own readers against a metadata service; prints one JSON object.

  ec2 BASE       sources.helpers.ec2.get_instance_metadata + get_instance_userdata (2009-04-04),
                 the crawler DataSourceEc2 runs
  nocloud SEED   DataSourceNoCloudNet with seedfrom=SEED: the whole datasource, read_seeded inside
  seeded SEED    util.read_seeded(SEED) alone, no retries (what an unknown machine gets)

Every log record at WARNING or above that cloud-init emits is returned in "warnings".
Byte strings are returned base64-encoded, so the caller can compare them byte for byte.
"""
import base64
import json
import logging
import sys
import tempfile

from cloudinit import distros, helpers, util
from cloudinit.sources import DataSourceNoCloud
from cloudinit.sources.helpers import ec2 as ec2_helper

records = []


class Collect(logging.Handler):
    def emit(self, record):
        records.append("%s %s: %s" % (record.levelname, record.name, record.getMessage()))


# After the imports: importing cloudinit.log resets the root logger's handlers.
logging.getLogger().addHandler(Collect(level=logging.WARNING))
logging.getLogger().setLevel(logging.DEBUG)


def b64(value):
    if value is None:
        return None
    if isinstance(value, str):
        value = value.encode("utf-8")
    return base64.b64encode(value).decode("ascii")


def ec2(base):
    md = ec2_helper.get_instance_metadata(api_version="2009-04-04", metadata_address=base, retries=0, timeout=5)
    ud = ec2_helper.get_instance_userdata(api_version="2009-04-04", metadata_address=base, retries=0, timeout=5)
    return {"metadata": md, "userdata": b64(ud)}


def nocloud(seed):
    tmp = tempfile.mkdtemp(prefix="wisp-cloud-init-")
    paths = helpers.Paths({"cloud_dir": tmp + "/cloud", "run_dir": tmp + "/run"})
    distro = distros.fetch("debian")("debian", {}, paths)
    # fs_label None: no look for a cidata disk, only the seed URL.
    sys_cfg = {"datasource": {"NoCloud": {"seedfrom": seed, "fs_label": None}}}
    ds = DataSourceNoCloud.DataSourceNoCloudNet(sys_cfg, distro, paths)
    found = ds.get_data()
    hostname = ds.get_hostname()
    return {
        "found": found,
        "instance_id": ds.get_instance_id(),
        "hostname": getattr(hostname, "hostname", hostname),
        "public_keys": ds.get_public_ssh_keys(),
        "metadata": ds.metadata,
        "userdata": b64(ds.userdata_raw),
        "vendordata": b64(ds.vendordata_raw),
    }


def seeded(seed):
    try:
        md, ud, vd = util.read_seeded(base=seed, timeout=5, retries=0)
        return {"metadata": md, "userdata": b64(ud), "vendordata": b64(vd)}
    except Exception as e:  # noqa: BLE001 - the caller asserts on what failed
        return {"error": "%s: %s" % (type(e).__name__, e), "code": getattr(e, "code", None)}


def main():
    mode, url = sys.argv[1], sys.argv[2]
    result = {"ec2": ec2, "nocloud": nocloud, "seeded": seeded}[mode](url)
    result["warnings"] = records
    print(json.dumps(result, default=repr))


main()
