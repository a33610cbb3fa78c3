"""Ruby gemspecs, Composer installed.json, Cargo.lock, .NET deps.json, npm manifests."""

import json

from chalicelib.scanner.analyzers.cargo import CargoLockAnalyzer
from chalicelib.scanner.analyzers.dotnet import DotnetAnalyzer
from chalicelib.scanner.analyzers.node import NodeAnalyzer
from chalicelib.scanner.analyzers.php import PhpAnalyzer
from chalicelib.scanner.analyzers.ruby import RubyAnalyzer

GEMSPEC = b'''# -*- encoding: utf-8 -*-
# stub: rack 2.2.3 ruby lib

Gem::Specification.new do |s|
  s.name = "rack".freeze
  s.version = "2.2.3"
  s.required_rubygems_version = Gem::Requirement.new(">= 0".freeze) if s.respond_to? :required_rubygems_version=
  s.licenses = ["MIT".freeze]
end
'''


def test_gemspec():
    analyzer = RubyAnalyzer()
    assert analyzer.matches("usr/local/bundle/specifications/rack-2.2.3.gemspec")
    assert analyzer.matches("usr/lib/ruby/gems/3.1.0/specifications/default/json-2.6.1.gemspec")
    assert not analyzer.matches("srv/app/rack.gemspec")
    (gem,) = analyzer.parse("x/specifications/rack-2.2.3.gemspec", GEMSPEC).packages
    assert (gem.name, gem.version, gem.licenses) == ("rack", "2.2.3", ("MIT",))


def test_composer_v1_and_v2():
    v2 = json.dumps({"packages": [{"name": "guzzlehttp/guzzle", "version": "v7.4.0", "license": ["MIT"]}]}).encode()
    v1 = json.dumps([{"name": "monolog/monolog", "version": "2.3.5"}]).encode()
    analyzer = PhpAnalyzer()
    assert [(p.name, p.version) for p in analyzer.parse("vendor/composer/installed.json", v2).packages] == [
        ("guzzlehttp/guzzle", "7.4.0")]
    assert [(p.name, p.version) for p in analyzer.parse("vendor/composer/installed.json", v1).packages] == [
        ("monolog/monolog", "2.3.5")]


def test_cargo_lock():
    lock = b'''version = 3

[[package]]
name = "smallvec"
version = "1.6.0"
source = "registry+https://github.com/rust-lang/crates.io-index"

[[package]]
name = "my-app"
version = "0.1.0"
dependencies = ["smallvec"]
'''
    found = CargoLockAnalyzer().parse("src/Cargo.lock", lock).packages
    assert [(p.name, p.version) for p in found] == [("smallvec", "1.6.0"), ("my-app", "0.1.0")]
    assert CargoLockAnalyzer().parse("Cargo.lock", b"[[[nope").warnings


def test_deps_json():
    deps = json.dumps({"libraries": {
        "MyApp/1.0.0": {"type": "project"},
        "Newtonsoft.Json/12.0.1": {"type": "package", "sha512": "sha512-x"},
        "System.Text.Encodings.Web/4.5.0": {"type": "package"},
    }}).encode()
    found = DotnetAnalyzer().parse("app/MyApp.deps.json", deps).packages
    assert [(p.name, p.version) for p in found] == [("Newtonsoft.Json", "12.0.1"), ("System.Text.Encodings.Web", "4.5.0")]


def test_npm_manifest_paths():
    analyzer = NodeAnalyzer()
    assert analyzer.matches("app/node_modules/lodash/package.json")
    assert analyzer.matches("app/node_modules/@babel/core/package.json")
    assert analyzer.matches("node_modules/a/node_modules/b/package.json")
    assert not analyzer.matches("app/package.json")
    assert not analyzer.matches("app/node_modules/@babel/package.json")
    assert not analyzer.matches("app/node_modules/lodash/test/package.json")
    legacy = NodeAnalyzer().parse("x", b'{"name": "a", "version": "1.0.0", "license": {"type": "ISC"}}')
    assert legacy.packages[0].licenses == ("ISC",)
