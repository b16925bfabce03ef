#!/usr/bin/env python3
"""A small kustomize renderer for the subset deploy/kubernetes uses, for machines without
`kubectl kustomize` (Debian and PyPI ship no kustomize v4+).

    python3 deploy/tools/kustomize_lite.py DIR            # multi-document YAML on stdout

Supported kustomization fields (anything else is an error, never silently ignored):
  resources (files and directories holding a kustomization), namespace,
  labels (pairs, includeSelectors: false, includeTemplates: false: metadata.labels only),
  images (name, newName, newTag, digest), generatorOptions (disableNameSuffixHash: true only),
  configMapGenerator (files, literals; behavior create | merge | replace),
  patches (inline `patch` or `path`, with `target`): a JSON 6902 patch (a YAML list of ops
  add/remove/replace/test) or a strategic-merge document that is only `$patch: delete`.

deploy/check.sh compares this renderer's output with `kubectl kustomize` whenever kubectl is
present, so the two cannot drift apart unnoticed. Output order is not kustomize's; objects
are equal.
"""
import copy
import sys
from pathlib import Path

import yaml

KUSTOMIZATION_NAMES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
SUPPORTED = {"apiVersion", "kind", "resources", "namespace", "labels", "images",
             "generatorOptions", "configMapGenerator", "patches"}
# Kinds the namespace transformer must not touch (the subset that could appear here).
CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition",
                  "PersistentVolume", "StorageClass", "PriorityClass",
                  "ValidatingWebhookConfiguration", "MutatingWebhookConfiguration"}


class KustomizeError(Exception):
    pass


def _load_docs(path):
    with open(path) as f:
        return [d for d in yaml.safe_load_all(f) if d is not None]


def _find_kustomization(directory):
    for name in KUSTOMIZATION_NAMES:
        p = directory / name
        if p.is_file():
            return p
    raise KustomizeError(f"{directory}: no kustomization.yaml")


def _group_version(api_version):
    if "/" in api_version:
        g, v = api_version.split("/", 1)
        return g, v
    return "", api_version


def _matches(obj, target):
    group, version = _group_version(obj.get("apiVersion", ""))
    meta = obj.get("metadata", {})
    checks = {"group": group, "version": version, "kind": obj.get("kind"),
              "name": meta.get("name"), "namespace": meta.get("namespace")}
    for key, value in target.items():
        if key not in checks:
            raise KustomizeError(f"patch target field {key!r} is not supported")
        if checks[key] != value:
            return False
    return True


def _pointer(path):
    if path == "":
        return []
    if not path.startswith("/"):
        raise KustomizeError(f"bad JSON pointer {path!r}")
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _json_patch(obj, ops):
    for op in ops:
        kind, parts = op.get("op"), _pointer(op.get("path", ""))
        if not parts:
            raise KustomizeError("patching the document root is not supported")
        parent = obj
        for part in parts[:-1]:
            parent = parent[int(part)] if isinstance(parent, list) else parent[part]
        last = parts[-1]
        if kind in ("add", "replace"):
            value = copy.deepcopy(op["value"])
            if isinstance(parent, list):
                if last == "-":
                    parent.append(value)
                elif kind == "add":
                    parent.insert(int(last), value)
                else:
                    parent[int(last)] = value
            else:
                if kind == "replace" and last not in parent:
                    raise KustomizeError(f"replace: {op['path']} does not exist")
                parent[last] = value
        elif kind == "remove":
            if isinstance(parent, list):
                del parent[int(last)]
            else:
                del parent[last]
        elif kind == "test":
            current = parent[int(last)] if isinstance(parent, list) else parent[last]
            if current != op["value"]:
                raise KustomizeError(f"test failed at {op['path']}")
        else:
            raise KustomizeError(f"JSON patch op {kind!r} is not supported")


def _apply_patch(resources, spec, base_dir):
    if "patch" in spec:
        text = spec["patch"]
    elif "path" in spec:
        text = (base_dir / spec["path"]).read_text()
    else:
        raise KustomizeError("a patch needs `patch` or `path`")
    unknown = set(spec) - {"patch", "path", "target"}
    if unknown:
        raise KustomizeError(f"patch fields {sorted(unknown)} are not supported")
    body = yaml.safe_load(text)
    target = spec.get("target")
    if isinstance(body, dict):
        if body.get("$patch") != "delete":
            raise KustomizeError("strategic-merge patches other than `$patch: delete` are not supported")
        if target is None:
            meta = body.get("metadata", {})
            target = {"kind": body.get("kind"), "name": meta.get("name")}
        before = len(resources)
        resources[:] = [r for r in resources if not _matches(r, target)]
        if len(resources) == before:
            raise KustomizeError(f"delete patch matched nothing: {target}")
        return
    if not isinstance(body, list) or target is None:
        raise KustomizeError("a JSON 6902 patch needs a list of operations and a target")
    hits = [r for r in resources if _matches(r, target)]
    if not hits:
        raise KustomizeError(f"patch target matched nothing: {target}")
    for r in hits:
        _json_patch(r, body)


def _configmap(gen, base_dir, namespace_hint=None):
    data = {}
    for literal in gen.get("literals", []):
        key, sep, value = literal.partition("=")
        if not sep:
            raise KustomizeError(f"literal {literal!r} has no '='")
        data[key] = value
    for entry in gen.get("files", []):
        key, sep, rel = entry.partition("=")
        if not sep:
            key, rel = Path(entry).name, entry
        path = (base_dir / rel).resolve()
        if base_dir.resolve() not in path.parents:
            raise KustomizeError(f"{entry}: files outside the kustomization directory are refused"
                                 " (kustomize's load restrictor)")
        data[key] = path.read_text()
    unknown = set(gen) - {"name", "behavior", "literals", "files"}
    if unknown:
        raise KustomizeError(f"configMapGenerator fields {sorted(unknown)} are not supported")
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": gen["name"]}}
    if data:
        cm["data"] = data
    return cm


def _set_images(obj, images):
    spec = obj.get("spec", {})
    pod = spec.get("template", {}).get("spec") if "template" in spec else None
    if pod is None:
        return
    for container in pod.get("containers", []) + pod.get("initContainers", []):
        image = container.get("image", "")
        name = image.split("@", 1)[0]
        if ":" in name.rsplit("/", 1)[-1]:
            name = name.rsplit(":", 1)[0]
        for rule in images:
            unknown = set(rule) - {"name", "newName", "newTag", "digest"}
            if unknown:
                raise KustomizeError(f"images fields {sorted(unknown)} are not supported")
            if rule["name"] != name:
                continue
            new = rule.get("newName", name)
            if "digest" in rule:
                new += "@" + rule["digest"]
            elif "newTag" in rule:
                new += ":" + str(rule["newTag"])
            else:
                rest = image[len(name):]
                new += rest
            container["image"] = new


def build(directory):
    directory = Path(directory)
    kpath = _find_kustomization(directory)
    k = yaml.safe_load(kpath.read_text()) or {}
    unknown = set(k) - SUPPORTED
    if unknown:
        raise KustomizeError(f"{kpath}: fields {sorted(unknown)} are not supported by kustomize_lite")

    resources = []
    for entry in k.get("resources", []):
        path = directory / entry
        if path.is_dir():
            resources.extend(build(path))
        elif path.is_file():
            resources.extend(_load_docs(path))
        else:
            raise KustomizeError(f"{kpath}: resource {entry!r} not found")

    options = k.get("generatorOptions", {})
    if set(options) - {"disableNameSuffixHash"} or (k.get("configMapGenerator") and not options.get("disableNameSuffixHash")):
        raise KustomizeError(f"{kpath}: only generatorOptions.disableNameSuffixHash: true is supported")
    for gen in k.get("configMapGenerator", []):
        behavior = gen.get("behavior", "create")
        cm = _configmap(gen, directory)
        existing = [r for r in resources if r.get("kind") == "ConfigMap"
                    and r["metadata"]["name"] == gen["name"]]
        if behavior == "create":
            if existing:
                raise KustomizeError(f"ConfigMap {gen['name']} already exists (use behavior merge/replace)")
            resources.append(cm)
        elif behavior in ("merge", "replace"):
            if len(existing) != 1:
                raise KustomizeError(f"ConfigMap {gen['name']}: nothing to {behavior}")
            old = existing[0]
            if behavior == "merge":
                old.setdefault("data", {}).update(cm.get("data", {}))
            else:
                old["data"] = cm.get("data", {})
        else:
            raise KustomizeError(f"configMapGenerator behavior {behavior!r} is not supported")

    for spec in k.get("patches", []):
        _apply_patch(resources, spec, directory)

    namespace = k.get("namespace")
    if namespace:
        for r in resources:
            if r.get("kind") not in CLUSTER_SCOPED:
                r.setdefault("metadata", {})["namespace"] = namespace

    for entry in k.get("labels", []):
        if entry.get("includeSelectors") or entry.get("includeTemplates"):
            raise KustomizeError("labels with includeSelectors/includeTemplates are not supported")
        if set(entry) - {"pairs", "includeSelectors", "includeTemplates"}:
            raise KustomizeError(f"labels fields {sorted(set(entry))} are not supported")
        for r in resources:
            r.setdefault("metadata", {}).setdefault("labels", {}).update(
                {key: str(value) for key, value in entry["pairs"].items()})

    if k.get("images"):
        for r in resources:
            _set_images(r, k["images"])

    return resources


def main(argv):
    if len(argv) != 1:
        print(__doc__.strip().splitlines()[0], file=sys.stderr)
        print("usage: kustomize_lite.py DIR", file=sys.stderr)
        return 2
    try:
        docs = build(argv[0])
    except (KustomizeError, OSError, yaml.YAMLError, KeyError, IndexError, ValueError) as e:
        print(f"kustomize_lite: {e}", file=sys.stderr)
        return 1
    sys.stdout.write(yaml.safe_dump_all(docs, sort_keys=True, default_flow_style=False))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
