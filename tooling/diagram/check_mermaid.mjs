// Parse every ```mermaid block of the Markdown files given as arguments with mermaid's own
// parser (under jsdom: mermaid expects a DOM). Exit 1 and name the file when one fails.
// Run from a directory where `npm ci` installed tooling/diagram/package.json (NODE_PATH-free:
// the test copies this script next to node_modules).
import { readFileSync } from "node:fs";
import { JSDOM } from "jsdom";

const dom = new JSDOM("<!DOCTYPE html><html><body></body></html>", { pretendToBeVisual: true });
globalThis.window = dom.window;
globalThis.document = dom.window.document;
globalThis.DOMParser = dom.window.DOMParser;
globalThis.Element = dom.window.Element;
globalThis.HTMLElement = dom.window.HTMLElement;
globalThis.SVGElement = dom.window.SVGElement;

const { default: mermaid } = await import("mermaid");
mermaid.initialize({ startOnLoad: false });

let failures = 0;
let blocks = 0;
for (const file of process.argv.slice(2)) {
  const text = readFileSync(file, "utf8");
  const found = [...text.matchAll(/```mermaid\n([\s\S]*?)```/g)].map((m) => m[1]);
  if (found.length === 0) {
    console.error(`${file}: no mermaid block`);
    failures += 1;
  }
  for (const source of found) {
    blocks += 1;
    try {
      const result = await mermaid.parse(source);
      if (!result || result.diagramType !== "flowchart-v2") {
        throw new Error(`unexpected diagram type ${result && result.diagramType}`);
      }
    } catch (error) {
      console.error(`${file}: ${error.message || error}`);
      failures += 1;
    }
  }
}
console.log(`${blocks} mermaid block(s) parsed, ${failures} failure(s)`);
process.exit(failures ? 1 : 0);
