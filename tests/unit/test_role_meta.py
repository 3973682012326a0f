# -*- coding: utf-8 -*-
# Copyright (c) lvs.realserver contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Every role's meta/main.yml (Galaxy metadata) agrees with the rest of the collection.

The description is the argument spec's short_description, the licence is the
one in the LICENSE file galaxy.yml ships, min_ansible_version is the floor of
meta/runtime.yml's requires_ansible, the tags are Galaxy-valid and a subset of
galaxy.yml's, and there are no role dependencies (a collection role gets what
it needs from the collection).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re

import pytest
import yaml

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
ROLES_DIR = os.path.join(REPO, "roles")
ROLES = sorted(
    name for name in (os.listdir(ROLES_DIR) if os.path.isdir(ROLES_DIR) else [])
    if os.path.isdir(os.path.join(ROLES_DIR, name, "tasks"))
)
# Galaxy's tag rule: lowercase letters and digits only.
TAG = re.compile(r"^[a-z0-9]+$")


def load(*parts):
    with open(os.path.join(REPO, *parts)) as handle:
        return yaml.safe_load(handle)


@pytest.fixture(scope="module")
def galaxy():
    return load("galaxy.yml")


@pytest.mark.parametrize("role", ROLES)
def test_meta_main_exists_with_galaxy_info(role):
    meta = load("roles", role, "meta", "main.yml")
    assert set(meta) == {"galaxy_info", "dependencies"}
    assert meta["dependencies"] == []
    info = meta["galaxy_info"]
    for key in ("author", "description", "license", "min_ansible_version", "platforms", "galaxy_tags"):
        assert info.get(key), "galaxy_info.%s is missing or empty" % key


@pytest.mark.parametrize("role", ROLES)
def test_description_is_the_argument_spec_short_description(role):
    info = load("roles", role, "meta", "main.yml")["galaxy_info"]
    spec = load("roles", role, "meta", "argument_specs.yml")["argument_specs"]["main"]
    assert info["description"] == spec["short_description"]
    assert info["author"] in spec["author"]


@pytest.mark.parametrize("role", ROLES)
def test_license_and_tags_match_galaxy_yml(role, galaxy):
    info = load("roles", role, "meta", "main.yml")["galaxy_info"]
    with open(os.path.join(REPO, galaxy["license_file"])) as handle:
        licence_text = handle.read()
    assert info["license"] == "GPL-3.0-or-later"
    assert "GNU GENERAL PUBLIC LICENSE" in licence_text and "Version 3" in licence_text
    assert info["author"] in galaxy["authors"]
    tags = info["galaxy_tags"]
    assert len(tags) == len(set(tags))
    assert [t for t in tags if not TAG.match(t)] == []
    assert set(tags) <= set(galaxy["tags"])


@pytest.mark.parametrize("role", ROLES)
def test_min_ansible_version_is_the_runtime_floor(role):
    info = load("roles", role, "meta", "main.yml")["galaxy_info"]
    requires = load("meta", "runtime.yml")["requires_ansible"]
    floor = re.match(r"^>=\s*(\d+\.\d+)", requires)
    assert floor, requires
    assert str(info["min_ansible_version"]) == floor.group(1)
    assert isinstance(info["min_ansible_version"], str)  # 2.10 must not become the float 2.1


@pytest.mark.parametrize("role", ROLES)
def test_platforms_are_the_tested_debian_releases(role):
    info = load("roles", role, "meta", "main.yml")["galaxy_info"]
    # molecule/default runs the role on Debian 12 (bookworm) and 13 (trixie).
    assert info["platforms"] == [{"name": "Debian", "versions": ["bookworm", "trixie"]}]
