import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { writeOrCheck } from "../tools/generatedFile";

describe("generatedFile: the write / --check main of npm run schema and npm run docs", () => {
  let dir: string;
  let file: string;
  let out: string[];
  let err: string[];
  const output = { stdout: (t: string) => void out.push(t), stderr: (t: string) => void err.push(t) };
  const generated = () => ({ file, script: "thing", text: () => Promise.resolve("new text\n") });

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "generated-"));
    file = path.join(dir, "thing.json");
    out = [];
    err = [];
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("writes the text and says where", async () => {
    fs.writeFileSync(file, "old text\n");
    assert.strictEqual(await writeOrCheck(generated(), [], output), 0);
    assert.strictEqual(fs.readFileSync(file, "utf8"), "new text\n");
    assert.deepStrictEqual(out, [`wrote ${path.relative(process.cwd(), file)}\n`]);
    assert.deepStrictEqual(err, []);
  });

  it("--check: exit 1 naming the npm script when the file differs, and leaves it alone", async () => {
    fs.writeFileSync(file, "old text\n");
    assert.strictEqual(await writeOrCheck(generated(), ["--check"], output), 1);
    assert.strictEqual(fs.readFileSync(file, "utf8"), "old text\n");
    assert.deepStrictEqual(err, [
      `${path.relative(process.cwd(), file)} is out of date: run npm run thing\n`,
    ]);
    assert.deepStrictEqual(out, []);
  });

  it("--check: a missing file is out of date, and is not created", async () => {
    assert.strictEqual(await writeOrCheck(generated(), ["--check"], output), 1);
    assert.strictEqual(fs.existsSync(file), false);
    assert.strictEqual(err.length, 1);
  });

  it("--check: exit 0 and silent when the file is current", async () => {
    fs.writeFileSync(file, "new text\n");
    assert.strictEqual(await writeOrCheck(generated(), ["--check"], output), 0);
    assert.deepStrictEqual([out, err], [[], []]);
  });
});
