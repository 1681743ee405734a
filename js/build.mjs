// Bundle each widget's ES module (js/<widget>/widget.js and what it imports) into one file,
// psychrnn_widgets/widgets/static/<widget>.js, which is committed so `pip install` needs no Node.
//   npm run build --prefix js                 -> writes the committed bundles
//   node js/build.mjs --outdir /some/dir      -> writes them elsewhere (the up-to-date test)
import * as esbuild from "esbuild";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const WIDGETS = ["connectivity", "trajectory3d"];

const here = path.dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const at = args.indexOf("--outdir");
const outdir = at >= 0 ? path.resolve(args[at + 1]) : path.resolve(here, "../psychrnn_widgets/widgets/static");

for (const name of WIDGETS) {
  await esbuild.build({
    entryPoints: [path.join(here, name, "widget.js")],
    outfile: path.join(outdir, `${name}.js`),
    absWorkingDir: here, // comments in the bundle name files relative to js/, wherever it is built
    bundle: true,
    format: "esm",
    target: "es2020",
    charset: "utf8",
    legalComments: "none",
    banner: { js: `// Generated from js/${name}/ by js/build.mjs (esbuild): do not edit, run \`npm run build --prefix js\`.` },
    logLevel: "warning",
  });
}
