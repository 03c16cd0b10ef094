// Runs webpack through its Node API (no webpack-cli to install): `node webpack-build.mjs MODE OUT`
// in the app folder, with the app's own webpack.config.mjs.
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const [mode, out] = process.argv.slice(2);
const app = process.cwd();
const { default: webpack } = await import(
  pathToFileURL(resolve(app, 'node_modules/webpack/lib/index.js')).href
);
const { default: config } = await import(pathToFileURL(resolve(app, 'webpack.config.mjs')).href);
const options = config({}, { mode });
options.output.path = resolve(app, out);
// terser is not under test, and minifying onnxruntime-web twice costs minutes on two cores.
options.optimization = { ...options.optimization, minimize: false };
const stats = await new Promise((ok, fail) => webpack(options, (e, s) => (e ? fail(e) : ok(s))));
if (stats.hasErrors()) {
  console.error(stats.toString({ all: false, errors: true }));
  process.exit(1);
}
console.log(stats.toString({ all: false, assets: true, assetsSpace: 8 }));
