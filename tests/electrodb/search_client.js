// Runs the TypeScript search client of docs/search.md as the app would: type-checks it (strict), compiles
// it to CommonJS, then saves the sessions given on stdin through it and runs the queries.
// Usage: node search_client.js CLIENT.ts < {"sessions": [...], "queries": [{"campaign", "q"}]}
// Env: PARITY_SEARCH_URL, TABLE, AWS_ENDPOINT_URL, AWS_REGION, credentials. Prints {"answers": [...]}.
const fs = require("fs");
const path = require("path");
const ts = require("typescript");

function compile(file) {
  const options = {
    strict: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.CommonJS,
    moduleResolution: ts.ModuleResolutionKind.Node10,
    lib: ["lib.es2022.d.ts", "lib.dom.d.ts"],
    types: ["node"],
    typeRoots: [path.join(__dirname, "node_modules", "@types")],
    esModuleInterop: true,
    baseUrl: __dirname, // the client lives elsewhere; its packages are this harness's
    paths: { "*": ["node_modules/*"] },
    skipLibCheck: true,
    outDir: path.dirname(file),
  };
  const program = ts.createProgram([file], options);
  const diagnostics = ts.getPreEmitDiagnostics(program);
  if (diagnostics.length) {
    const text = diagnostics.map((d) => ts.flattenDiagnosticMessageText(d.messageText, "\n")).join("\n");
    throw new Error(`the client does not type-check:\n${text}`);
  }
  program.emit();
  return file.replace(/\.ts$/, ".js");
}

async function main() {
  const client = require(compile(path.resolve(process.argv[2])));
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  const input = JSON.parse(Buffer.concat(chunks).toString("utf8"));
  for (const session of input.sessions) await client.saveSession(session);
  const answers = [];
  for (const { campaign, q } of input.queries) answers.push(await client.searchSessions(campaign, q));
  process.stdout.write(JSON.stringify({ answers }) + "\n");
}

main().catch((error) => {
  process.stderr.write(String(error && error.stack ? error.stack : error) + "\n");
  process.exit(1);
});
