// The compiler (parser, checker with ts-morph, emitter with prettier) takes about a second to load:
// the commands that compile load it when they run, so that `flowc worker`, `status` or `cancel`
// start without it.
export const loadCompiler = () => import("../index.js");
