// check.mjs - validate renderings of deploy/kubernetes offline.
//
//   node tests/deploy/check.mjs --vigil build/vigil --readme deploy/kubernetes/README.md \
//        --work DIR VARIANT=RENDERED.yaml ...
//
// VARIANT is base, enforce or pre-5.8 (what the rendering is, for the
// capability and mount expectations).  Every object is validated against
// the Kubernetes OpenAPI schema kubernetes-models carries (the
// ServiceMonitor against the prometheus-operator CRD schema), and
// additionally checked for fields the schema does not know: ajv accepts
// unknown fields, so each object is validated through a Proxy that records
// which properties the validator looked at; a key it never looked at, in an
// object whose schema has properties, is unknown.  Then the semantic checks
// a schema cannot do.  The self-test runs first and proves the validator
// rejects a misspelled field, a wrong type and a missing required field.
//
// Prints one line per check, and "N passed, N failed" last; exit 1 on any
// failure.
import { readFileSync, writeFileSync, mkdirSync, rmSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { join, basename } from "node:path";
import { parseAllDocuments, parse as parseYaml } from "yaml";

const here = new URL(".", import.meta.url);
const schemaFiles = {
  "v1/Namespace": "kubernetes-models/_schemas/IoK8sApiCoreV1Namespace.js",
  "v1/ServiceAccount": "kubernetes-models/_schemas/IoK8sApiCoreV1ServiceAccount.js",
  "v1/ConfigMap": "kubernetes-models/_schemas/IoK8sApiCoreV1ConfigMap.js",
  "v1/Service": "kubernetes-models/_schemas/IoK8sApiCoreV1Service.js",
  "apps/v1/DaemonSet": "kubernetes-models/_schemas/IoK8sApiAppsV1DaemonSet.js",
  "monitoring.coreos.com/v1/ServiceMonitor":
    "@kubernetes-models/prometheus-operator/_schemas/ComGithubPrometheusOperatorPrometheusOperatorPkgApisMonitoringV1ServiceMonitor.js",
};
const validators = {};
for (const [k, f] of Object.entries(schemaFiles))
  validators[k] = (await import(new URL("node_modules/" + f, here).href)).validate;

// ---- schema validation with unknown-field detection ----------------------
function track(obj, path, log) {
  if (obj === null || typeof obj !== "object") return obj;
  let rec = log.get(path);
  if (!rec) log.set(path, (rec = { obj, accessed: new Set(), enumerated: false }));
  return new Proxy(obj, {
    get(t, k, r) {
      const v = Reflect.get(t, k, r);
      if (typeof k !== "string") return v;
      rec.accessed.add(k);
      return Object.hasOwn(t, k) ? track(v, `${path}/${k}`, log) : v;
    },
    ownKeys(t) {
      rec.enumerated = true; // a map (labels, data): any key is allowed
      return Reflect.ownKeys(t);
    },
  });
}

// Returns a list of problems ([] = valid).
export function validateObject(o) {
  const key = `${o?.apiVersion}/${o?.kind}`;
  const fn = validators[key];
  if (!fn) return [`no schema for ${key}: add it to schemaFiles in check.mjs`];
  const log = new Map();
  const problems = [];
  if (!fn(track(o, "", log)))
    for (const e of fn.errors) problems.push(`${e.instancePath || "/"}: ${e.message ?? e.keyword} ${JSON.stringify(e.params)}`);
  for (const [path, rec] of log) {
    if (Array.isArray(rec.obj) || rec.enumerated || rec.accessed.size === 0) continue;
    for (const k of Object.keys(rec.obj))
      if (!rec.accessed.has(k)) problems.push(`${path}/${k}: unknown field`);
  }
  return problems;
}

// ---- reporting -----------------------------------------------------------
let passed = 0, failed = 0;
function check(name, problems) {
  if (typeof problems === "boolean") problems = problems ? [] : ["false"];
  if (problems.length === 0) {
    passed++;
    console.log(`ok    ${name}`);
  } else {
    failed++;
    console.log(`FAIL  ${name}`);
    for (const p of problems) console.log(`        ${p}`);
  }
}
const eq = (a, b) => JSON.stringify(a) === JSON.stringify(b);

// ---- arguments -----------------------------------------------------------
const args = process.argv.slice(2);
let vigil = "build/vigil", readme = "deploy/kubernetes/README.md", work = "build/deploytest/work", policiesDir = "policies";
const renders = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === "--vigil") vigil = args[++i];
  else if (args[i] === "--readme") readme = args[++i];
  else if (args[i] === "--work") work = args[++i];
  else if (args[i] === "--policies") policiesDir = args[++i];
  else if (/^[a-z0-9.-]+=/.test(args[i])) renders.push(args[i].split(/=(.*)/s).slice(0, 2));
  else {
    console.error(`check.mjs: bad argument '${args[i]}'`);
    process.exit(2);
  }
}
if (!renders.length) {
  console.error("check.mjs: no VARIANT=FILE to check");
  process.exit(2);
}

function load(file) {
  const docs = parseAllDocuments(readFileSync(file, "utf8"));
  for (const d of docs) if (d.errors.length) throw new Error(`${file}: ${d.errors[0].message}`);
  return docs.map((d) => d.toJS()).filter((o) => o);
}

// ---- the capability table in README.md -----------------------------------
// Rows like "| `CAP_BPF` | base | why ... |" under "## Capabilities".
function readmeCaps() {
  const text = readFileSync(readme, "utf8");
  const sect = text.split(/^## /m).find((s) => s.startsWith("Capabilities"));
  if (!sect) throw new Error(`${readme}: no "## Capabilities" section`);
  const rows = [];
  for (const m of sect.matchAll(/^\|\s*`CAP_([A-Z_]+)`\s*\|\s*([a-z0-9.-]+)\s*\|/gm)) rows.push({ cap: m[1], where: m[2] });
  return rows;
}
const capsFor = {
  base: (rows) => rows.filter((r) => r.where === "base").map((r) => r.cap),
  enforce: (rows) => rows.filter((r) => r.where === "base" || r.where === "enforce").map((r) => r.cap),
  "pre-5.8": (rows) => rows.filter((r) => r.where === "base" || r.where === "pre-5.8").map((r) => r.cap),
};

// ---- self-test: the validator must reject these --------------------------
function selfTest(objs) {
  const ds = objs.find((o) => o.kind === "DaemonSet");
  check("self-test: the unmodified DaemonSet is valid", validateObject(ds));
  const cases = [
    ["a misspelled field (containers[0].imagePullPolcy)", (o) => {
      const c = o.spec.template.spec.containers[0];
      c.imagePullPolcy = c.imagePullPolicy;
      delete c.imagePullPolicy;
    }],
    ["a misspelled nested field (securityContext.capabilites)", (o) => {
      const s = o.spec.template.spec.containers[0].securityContext;
      s.capabilites = s.capabilities;
      delete s.capabilities;
    }],
    ["a wrong type (hostPID: \"true\")", (o) => { o.spec.template.spec.hostPID = "true"; }],
    ["a wrong type (containerPort: \"9867\")", (o) => { o.spec.template.spec.containers[0].ports[0].containerPort = "9867"; }],
    ["a missing required field (spec.selector)", (o) => { delete o.spec.selector; }],
    ["a missing required field (containers[0].name)", (o) => { delete o.spec.template.spec.containers[0].name; }],
  ];
  for (const [what, mutate] of cases) {
    const o = structuredClone(ds);
    mutate(o);
    check(`self-test: rejects ${what}`, validateObject(o).length ? [] : ["accepted"]);
  }
  const sm = {
    apiVersion: "monitoring.coreos.com/v1", kind: "ServiceMonitor", metadata: { name: "x" },
    spec: { selector: {}, endpoints: [{ port: "metrics" }] },
  };
  check("self-test: a minimal ServiceMonitor is valid", validateObject(sm));
  const sm2 = structuredClone(sm);
  sm2.spec.endpoints[0].intervall = "30s";
  check("self-test: rejects a misspelled ServiceMonitor field", validateObject(sm2).length ? [] : ["accepted"]);
  const sm3 = structuredClone(sm);
  delete sm3.spec.selector;
  check("self-test: rejects a ServiceMonitor without spec.selector", validateObject(sm3).length ? [] : ["accepted"]);
}

// ---- semantic checks ------------------------------------------------------
function semantic(variant, objs, dir) {
  const P = (s) => `${variant}: ${s}`;
  const of = (kind) => objs.filter((o) => o.kind === kind);
  const [ds] = of("DaemonSet");
  if (!ds) return check(P("has a DaemonSet"), false);
  const pod = ds.spec.template.spec;
  const [c] = pod.containers;
  const sc = c.securityContext ?? {};

  check(P("every namespaced object is in vigil-system"),
    objs.filter((o) => o.kind !== "Namespace" && o.metadata.namespace !== "vigil-system").map((o) => `${o.kind}/${o.metadata.name}`));
  check(P("no RBAC objects (vigil reads nothing from the API server)"),
    objs.filter((o) => /Role/.test(o.kind)).map((o) => o.kind));
  const sa = of("ServiceAccount").find((s) => s.metadata.name === pod.serviceAccountName);
  check(P("the pod's ServiceAccount exists and mounts no token"),
    sa && sa.automountServiceAccountToken === false && pod.automountServiceAccountToken === false);

  // Capabilities: exactly the README table's, for this variant.
  const want = capsFor[variant](readmeCaps()).sort();
  const have = [...(sc.capabilities?.add ?? [])].sort();
  check(P(`capabilities match README.md (${have.join(",")})`), eq(want, have) ? [] : [`manifest ${have}`, `README  ${want}`]);
  check(P("capabilities: drop ALL"), eq(sc.capabilities?.drop, ["ALL"]));
  check(P("not privileged, runs as root, read-only root filesystem"),
    sc.privileged === false && sc.runAsUser === 0 && sc.readOnlyRootFilesystem === true);
  // Kubernetes refuses allowPrivilegeEscalation: false with SYS_ADMIN.
  check(P("allowPrivilegeEscalation is false unless SYS_ADMIN is added"),
    sc.allowPrivilegeEscalation === have.includes("SYS_ADMIN"));
  check(P("hostPID, system-node-critical, tolerates every taint"),
    pod.hostPID === true && pod.priorityClassName === "system-node-critical" &&
      (pod.tolerations ?? []).some((t) => t.operator === "Exists" && !t.key && !t.effect));
  check(P("RollingUpdate with maxUnavailable"),
    ds.spec.updateStrategy?.type === "RollingUpdate" && ds.spec.updateStrategy.rollingUpdate?.maxUnavailable !== undefined);
  check(P("resources: requests and limits for cpu and memory"),
    ["requests", "limits"].every((k) => c.resources?.[k]?.cpu && c.resources?.[k]?.memory));
  check(P("VIGIL_NODE_NAME comes from spec.nodeName"),
    (c.env ?? []).some((e) => e.name === "VIGIL_NODE_NAME" && e.valueFrom?.fieldRef?.fieldPath === "spec.nodeName"));

  // Ports and probes.
  const port = (c.ports ?? []).find((p) => p.name === "metrics");
  check(P("container port 'metrics' is 9867"), port?.containerPort === 9867);
  const resolves = (p) => p === "metrics" || p === port?.containerPort;
  check(P("liveness probe: GET /healthz on the metrics port"),
    c.livenessProbe?.httpGet?.path === "/healthz" && resolves(c.livenessProbe.httpGet.port));
  check(P("readiness probe: GET /readyz on the metrics port"),
    c.readinessProbe?.httpGet?.path === "/readyz" && resolves(c.readinessProbe.httpGet.port));
  const svc = of("Service").find((s) => s.metadata.name === "vigil");
  const sp = svc?.spec.ports.find((p) => p.name === "metrics");
  check(P("Service port 'metrics' targets the container port, with scrape annotations"),
    !!sp && sp.port === 9867 && resolves(sp.targetPort) &&
      svc.metadata.annotations?.["prometheus.io/scrape"] === "true" &&
      svc.metadata.annotations?.["prometheus.io/port"] === String(port?.containerPort) &&
      svc.metadata.annotations?.["prometheus.io/path"] === "/metrics");
  const podLabels = ds.spec.template.metadata.labels;
  check(P("Service selects the DaemonSet's pods"),
    !!svc?.spec.selector && Object.entries(svc.spec.selector).every(([k, v]) => podLabels[k] === v));
  for (const sm of of("ServiceMonitor"))
    check(P("ServiceMonitor selects the Service and scrapes port 'metrics'"),
      Object.entries(sm.spec.selector.matchLabels ?? {}).every(([k, v]) => svc.metadata.labels?.[k] === v) &&
        sm.spec.endpoints.some((e) => e.port === "metrics"));

  // Mounts.
  const vols = new Map(pod.volumes.map((v) => [v.name, v]));
  const mounts = new Map(c.volumeMounts.map((m) => [m.mountPath, m]));
  check(P("every volumeMount names a volume, every volume is mounted"),
    [...c.volumeMounts.filter((m) => !vols.has(m.name)).map((m) => `no volume ${m.name}`),
     ...pod.volumes.filter((v) => !c.volumeMounts.some((m) => m.name === v.name)).map((v) => `unmounted ${v.name}`)]);
  const cgroupRw = variant === "enforce";
  const required = [
    ["/sys/fs/bpf", "/sys/fs/bpf", true],
    ["/sys/kernel/btf", "/sys/kernel/btf", false],
    ["/sys/kernel/tracing", "/sys/kernel/tracing", false],
    ["/sys/kernel/security", "/sys/kernel/security", false],
    ["/sys/fs/cgroup", "/sys/fs/cgroup", cgroupRw],
    ["/run/containerd", "/run/containerd", false],
    ["/run/containers", "/run/containers", false],
    ["/var/lib/vigil", "/var/lib/vigil", true],
  ];
  for (const [path, host, rw] of required) {
    const m = mounts.get(path);
    const v = m && vols.get(m.name);
    check(P(`mount ${path}: host ${host}, ${rw ? "read-write" : "read-only"}`),
      !!v && v.hostPath?.path === host && !!m.readOnly === !rw);
  }
  check(P("no hostPath beyond the documented ones"),
    pod.volumes.filter((v) => v.hostPath && !required.some(([, h]) => h === v.hostPath.path)).map((v) => v.hostPath.path));
  check(P("Bidirectional propagation is not used (it needs privileged)"),
    c.volumeMounts.filter((m) => m.mountPropagation === "Bidirectional").map((m) => m.mountPath));

  // The config and the policies, as the agent will see them.
  const argv = c.args;
  const argOf = (flag) => argv[argv.indexOf(flag) + 1];
  const cfgMount = mounts.get(argOf("--config"));
  const cfgVol = cfgMount && vols.get(cfgMount.name);
  const cm = cfgVol && of("ConfigMap").find((m) => m.metadata.name === cfgVol.configMap?.name);
  const cfgText = cm?.data?.[cfgMount?.subPath ?? basename(argOf("--config"))];
  check(P("--config is a mounted ConfigMap key"), typeof cfgText === "string");
  if (typeof cfgText !== "string") return;
  const cfgFile = join(dir, "vigil.yaml");
  writeFileSync(cfgFile, cfgText);
  let out = "";
  let ok = true;
  try {
    out = execFileSync(vigil, ["run", "--config", cfgFile, "--check-config"], { encoding: "utf8", stdio: "pipe" });
  } catch (e) {
    ok = false;
    out = `${e.stdout}${e.stderr}`;
  }
  check(P("vigil run --check-config accepts vigil.yaml"), ok ? [] : out.trim().split("\n"));
  // ...and the check can fail: a misspelled key in the same text.
  writeFileSync(cfgFile + ".bad", cfgText.replace(/^output:/m, "outptu:"));
  let refused = "";
  try {
    execFileSync(vigil, ["run", "--config", cfgFile + ".bad", "--check-config"], { stdio: "pipe" });
  } catch (e) {
    refused = `${e.stderr}`;
  }
  check(P("vigil run --check-config refuses vigil.yaml with a misspelled key"),
    /unknown key 'outptu'/.test(refused) ? [] : [`got: ${refused || "accepted"}`]);
  const cfg = parseYaml(cfgText) ?? {};
  check(P(`metrics_addr listens on every address at the container port (${cfg.metrics_addr})`),
    cfg.metrics_addr === `0.0.0.0:${port?.containerPort}`);
  check(P("output is stdout"), cfg.output === "-");
  const under = (p, base) => p === base || p?.startsWith(base + "/");
  const rwMount = (p) => c.volumeMounts.some((m) => !m.readOnly && under(p, m.mountPath));
  check(P("trust.store_dir is on a writable hostPath mount"), rwMount(cfg.trust?.store_dir ?? "/var/lib/vigil/trust"));
  check(P("trust.bpffs is under the /sys/fs/bpf mount"), under(cfg.trust?.bpffs ?? "/sys/fs/bpf/vigil", "/sys/fs/bpf"));
  check(P("bpf_stats is off (it needs CAP_SYS_ADMIN)"), !cfg.bpf_stats || have.includes("SYS_ADMIN"));

  const pdir = argOf("--policy-dir");
  const pm = mounts.get(pdir);
  const pcm = pm && of("ConfigMap").find((m) => m.metadata.name === vols.get(pm.name)?.configMap?.name);
  check(P("--policy-dir is the mounted policy ConfigMap"), !!pcm && (cfg.policy_dir ?? pdir) === pdir);
  if (!pcm) return;
  const pd = join(dir, "policies");
  rmSync(pd, { recursive: true, force: true });
  mkdirSync(pd, { recursive: true });
  const differ = [];
  for (const [name, text] of Object.entries(pcm.data ?? {})) {
    writeFileSync(join(pd, name), text);
    let orig = null;
    try { orig = readFileSync(join(policiesDir, name), "utf8"); } catch { /* reported below */ }
    if (orig !== text) differ.push(`${name}: ${orig === null ? "not in policies/" : "differs from policies/" + name}`);
  }
  check(P(`policies are the examples from policies/ unchanged (${Object.keys(pcm.data ?? {}).length} files)`), differ);
  ok = true;
  try {
    out = execFileSync(vigil, ["policy", "check", pd], { encoding: "utf8", stdio: "pipe" });
  } catch (e) {
    ok = false;
    out = `${e.stdout}${e.stderr}`;
  }
  check(P("vigil policy check accepts the policy ConfigMap"), ok ? [] : out.trim().split("\n").slice(-15));

  // The base only reports: no deny, no enforce, no kill.
  if (variant === "base") {
    const active = [];
    for (const [name, text] of Object.entries(pcm.data))
      for (const d of parseAllDocuments(text).map((x) => x.toJS()).filter(Boolean)) {
        const s = d.spec ?? {};
        if (d.kind === "SignalPolicy")
          for (const r of s.rules ?? []) if (r.action !== "audit") active.push(`${name}: ${d.metadata.name}: action ${r.action}`);
        if (d.kind === "TrustPolicy")
          for (const r of s.rules ?? []) if (r.mode === "enforce") active.push(`${name}: ${d.metadata.name}: mode enforce`);
        if (d.kind === "OomPolicy" && s.dryRun !== true) active.push(`${name}: ${d.metadata.name}: not dryRun`);
      }
    check(P("every policy only reports (audit, dryRun)"), active);
  }
}

// ---- main ----------------------------------------------------------------
mkdirSync(work, { recursive: true });
let first = true;
for (const [variant, file] of renders) {
  if (!capsFor[variant]) {
    console.error(`check.mjs: unknown variant '${variant}' (base, enforce, pre-5.8)`);
    process.exit(2);
  }
  const objs = load(file);
  if (first) selfTest(objs);
  first = false;
  for (const o of objs)
    check(`${variant}: schema: ${o.kind}/${o.metadata?.name}`, validateObject(o));
  const dir = join(work, variant);
  mkdirSync(dir, { recursive: true });
  semantic(variant, objs, dir);
}
console.log(`deploy: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
