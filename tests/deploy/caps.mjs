// caps.mjs RENDERED.yaml [POLICY_DIR] - print the capabilities the rendered
// DaemonSet's container adds, one per line (as Kubernetes names them:
// BPF, SYS_PTRACE, ...); with POLICY_DIR, also write the files of the
// ConfigMap mounted at the container's --policy-dir there.
//
// caps.mjs --mounts RENDERED.yaml - print the container's host mounts
// instead, one per line: HOST_PATH MOUNT_PATH ro|rw.
import { readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";

const args = process.argv.slice(2);
const mounts = args[0] === "--mounts";
if (mounts) args.shift();
const [file, policyDir] = args;
if (!file) {
  console.error("usage: caps.mjs RENDERED.yaml [POLICY_DIR] | caps.mjs --mounts RENDERED.yaml");
  process.exit(2);
}
const objs = parseAllDocuments(readFileSync(file, "utf8")).map((d) => d.toJS()).filter(Boolean);
const ds = objs.filter((o) => o.kind === "DaemonSet");
if (ds.length !== 1) {
  console.error(`caps.mjs: ${file}: ${ds.length} DaemonSets, expected 1`);
  process.exit(1);
}
const pod = ds[0].spec.template.spec;
const c = pod.containers[0];
if (mounts) {
  for (const m of c.volumeMounts ?? []) {
    const v = pod.volumes.find((x) => x.name === m.name);
    if (v?.hostPath) console.log(`${v.hostPath.path} ${m.mountPath} ${m.readOnly ? "ro" : "rw"}`);
  }
  process.exit(0);
}
const caps = c.securityContext?.capabilities?.add ?? [];
if (!caps.length) {
  console.error(`caps.mjs: ${file}: the container adds no capabilities`);
  process.exit(1);
}
if (policyDir) {
  const dir = c.args[c.args.indexOf("--policy-dir") + 1];
  const m = c.volumeMounts.find((x) => x.mountPath === dir);
  const v = m && pod.volumes.find((x) => x.name === m.name);
  const cm = v && objs.find((o) => o.kind === "ConfigMap" && o.metadata.name === v.configMap?.name);
  if (!cm) {
    console.error(`caps.mjs: ${file}: no ConfigMap mounted at --policy-dir ${dir}`);
    process.exit(1);
  }
  mkdirSync(policyDir, { recursive: true });
  for (const [name, text] of Object.entries(cm.data ?? {})) writeFileSync(join(policyDir, name), text);
}
console.log(caps.join("\n"));
