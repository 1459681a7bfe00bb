"""The configuration a user writes, and the sample that documents it."""

from __future__ import annotations

import configparser
import subprocess
import sys
from pathlib import Path

from engines.core import config

ROOT = Path(__file__).resolve().parents[2]


def test_the_default_database_is_a_sqlite_file_that_follows_state_path(tmp_path):
    conf = config.new_conf(state_path=str(tmp_path / "elsewhere"))
    assert config.database_url(conf) == f"sqlite:///{tmp_path}/elsewhere/dualpath.sqlite"
    assert (tmp_path / "elsewhere").is_dir()  # made, so that SQLite can create the file


def test_a_config_file_sets_the_path_switch_and_the_database(tmp_path):
    conf_file = tmp_path / "dualpath.conf"
    conf_file.write_text("[DEFAULT]\nconvergence_engine = true\nmax_resources_per_stack = 7\n"
                         "[database]\nconnection = sqlite:////tmp/never-opened.sqlite\n")
    conf = config.new_conf([str(conf_file)])
    assert conf.convergence_engine is True
    assert conf.max_resources_per_stack == 7
    assert config.database_url(conf) == "sqlite:////tmp/never-opened.sqlite"
    assert config.new_conf().convergence_engine is False  # off unless asked for


def test_the_generated_sample_documents_our_defaults(tmp_path):
    generator_conf = tmp_path / "generator.conf"
    sample = tmp_path / "dualpath.conf.sample"
    generator_conf.write_text(
        (ROOT / "etc" / "dualpath-config-generator.conf").read_text()
        .replace("etc/dualpath.conf.sample", str(sample)))
    subprocess.run([sys.executable, "-m", "oslo_config.generator",
                    "--config-file", str(generator_conf)], check=True, cwd=ROOT)
    parsed = configparser.ConfigParser(interpolation=None)
    # every option is commented out in a sample: uncomment to read the documented defaults
    parsed.read_string("\n".join(line[1:] if line.startswith("#") and " = " in line else line
                                 for line in sample.read_text().splitlines()))
    assert parsed["DEFAULT"]["convergence_engine"] == "false"
    assert parsed["DEFAULT"]["max_template_size"] == "524288"
    assert parsed["DEFAULT"]["transport_url"] == "<None>"
    assert parsed["database"]["connection"] == "sqlite:///$state_path/dualpath.sqlite"
