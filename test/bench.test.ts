import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { COMPILED_PREFIX, runBench } from "../tools/bench";

describe("npm run bench", function () {
  // One tsc build of the program (20 to 40 s on a 2-core machine) and four small scenario processes.
  this.timeout(300_000);

  it("removes its compiled tree from the temporary directory, and keeps the project's node_modules", async () => {
    const lines: string[] = [];
    let compiled = "";
    await runBench({
      sizes: [2],
      acrSizes: [2],
      sequential: { namespaces: 2, delayMs: 1 },
      log: (l) => lines.push(l),
      onCompiled: (dir) => (compiled = dir),
    });
    assert.strictEqual(path.dirname(compiled), os.tmpdir());
    assert.ok(path.basename(compiled).startsWith(COMPILED_PREFIX), compiled);
    assert.strictEqual(fs.existsSync(compiled), false, `${compiled} is left behind`);
    // The tree held a symlink to node_modules: removing the tree must not follow it.
    assert.ok(
      fs.existsSync(path.resolve(__dirname, "..", "node_modules", "@pulumi", "pulumi", "package.json")),
    );
    assert.deepStrictEqual(lines[2].trim().split(/\s+/).slice(0, 3), ["2", "8", "4.00"], lines.join("\n"));
    // The ACR row: the token's scope map, token and password, and the component around them: 8 per namespace.
    assert.strictEqual(
      lines[4].trim(),
      "namespaces  resources  per-ns  program ms  heap MB  peak RSS MB  heap KB/ns",
    );
    assert.deepStrictEqual(lines[5].trim().split(/\s+/).slice(0, 3), ["2", "18", "9.00"], lines.join("\n"));
  });
});
