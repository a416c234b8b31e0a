#!/usr/bin/python3
"""Writes a smaller copy of an experiment spec for a test: the given settings replaced, its
relative data paths made absolute so the copy can live anywhere.

Usage: shrink-spec.py SOURCE.yaml OUT.yaml [PATH=YAML_VALUE ...]
  PATH is dotted (training.epochs, resampling.outer); YAML_VALUE is parsed as YAML, so
  'grid={training.lr: [0.01]}' or 'resampling.inner=null' (null removes the key).
"""
import os
import sys

import yaml


def main():
    source, out, *settings = sys.argv[1:]
    with open(source) as f:
        spec = yaml.safe_load(f)
    base = os.path.dirname(os.path.abspath(source))
    for section, key in (("data", "path"), ("data", "labels"), ("model", "path")):
        value = spec.get(section, {}).get(key)
        if value and not os.path.isabs(value):
            spec[section][key] = os.path.join(base, value)
    for setting in settings:
        path, _, text = setting.partition("=")
        keys = path.split(".")
        node = spec
        for key in keys[:-1]:
            node = node.setdefault(key, {})
        value = yaml.safe_load(text)
        if value is None:
            node.pop(keys[-1], None)
        else:
            node[keys[-1]] = value
    with open(out, "w") as f:
        yaml.safe_dump(spec, f, sort_keys=False)


if __name__ == "__main__":
    main()
