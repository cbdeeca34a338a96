// A compact, deterministic text rendering of the AST for golden fixtures: one node per line,
// children indented, `[line:col-line:col]` spans (end exclusive), names with their own span as
// `name(line:col-line:col)`, and `role:` prefixes where a node has several children of one kind.
import type * as A from "../../ast.js";
import type { SourceFile } from "../../source.js";

export function printAst(program: A.Program, file: SourceFile): string {
  const out: string[] = [];
  const at = (s: A.Span): string => {
    const a = file.position(s.start);
    const b = file.position(s.end);
    return `${a.line}:${a.column}-${b.line}:${b.column}`;
  };
  const id = (i: A.Ident): string => `${i.name === "" ? "<missing>" : i.name}(${at(i.span)})`;
  const emit = (depth: number, role: string, text: string, span: A.Span, extra = ""): void => {
    out.push(`${"  ".repeat(depth)}${role ? role + ": " : ""}${text} [${at(span)}]${extra ? " " + extra : ""}`);
  };

  const type = (t: A.TypeExpr, d: number, role = ""): void => {
    switch (t.kind) {
      case "namedType":
        return emit(d, role, `namedType ${id(t.name)}`, t.span);
      case "arrayType":
        emit(d, role, "arrayType", t.span);
        return type(t.element, d + 1);
      case "recordType":
        emit(d, role, "recordType", t.span);
        for (const f of t.fields) {
          emit(d + 1, "", `field ${id(f.name)}${f.optional ? " optional" : ""}`, f.span);
          type(f.type, d + 2);
        }
        return;
      case "missingType":
        return emit(d, role, "missingType", t.span);
    }
  };

  const call = (c: A.CallExpr, d: number, role = ""): void => {
    emit(d, role, `call ${id(c.callee)}`, c.span, `args[${at(c.argsSpan)}]`);
    for (const a of c.args) {
      emit(d + 1, "", a.name ? `arg ${id(a.name)}` : "arg", a.span);
      expr(a.value, d + 2);
    }
  };

  const expr = (e: A.Expr, d: number, role = ""): void => {
    switch (e.kind) {
      case "int":
      case "float":
        return emit(d, role, `${e.kind} ${e.raw}`, e.span);
      case "string":
        return emit(d, role, `string ${e.raw}`, e.span, `value=${JSON.stringify(e.value)}`);
      case "bool":
        return emit(d, role, `bool ${e.value}`, e.span);
      case "duration":
        return emit(d, role, `duration ${e.raw} = ${e.ms}ms`, e.span);
      case "array":
        emit(d, role, "array", e.span);
        for (const el of e.elements) expr(el, d + 1);
        return;
      case "record":
        emit(d, role, "record", e.span);
        for (const f of e.fields) {
          emit(d + 1, "", `fieldInit ${id(f.name)}`, f.span);
          expr(f.value, d + 2);
        }
        return;
      case "name":
        return emit(d, role, `name ${id(e.name)}`, e.span);
      case "unary":
        emit(d, role, `unary ${e.op}`, e.span);
        return expr(e.operand, d + 1);
      case "binary":
        emit(d, role, `binary ${e.op}`, e.span, `op[${at(e.opSpan)}]`);
        expr(e.left, d + 1, "left");
        return expr(e.right, d + 1, "right");
      case "conditional":
        emit(d, role, "conditional", e.span);
        expr(e.test, d + 1, "test");
        expr(e.then, d + 1, "then");
        return expr(e.else, d + 1, "else");
      case "member":
        emit(d, role, `member .${id(e.property)}`, e.span);
        return expr(e.object, d + 1);
      case "index":
        emit(d, role, "index", e.span);
        expr(e.object, d + 1, "object");
        return expr(e.index, d + 1, "index");
      case "call":
        return call(e, d, role);
      case "lambda":
        emit(d, role, `lambda (${e.params.map(id).join(", ")})`, e.span);
        return expr(e.body, d + 1);
      case "pipe":
        emit(d, role, "pipe", e.span);
        expr(e.head, d + 1, "head");
        for (const s of e.steps) {
          if (s.kind === "op") {
            emit(d + 1, "", "op", s.span, `pipe[${at(s.pipeSpan)}]`);
            call(s.call, d + 2);
          } else {
            emit(d + 1, "", `sink${s.as ? " as " + id(s.as) : ""}`, s.span, `pipe[${at(s.pipeSpan)}]`);
            call(s.connector, d + 2);
          }
        }
        return;
      case "paren":
        emit(d, role, "paren", e.span);
        return expr(e.expr, d + 1);
      case "missing":
        return emit(d, role, "missing", e.span);
    }
  };

  const item = (it: A.Item, d: number): void => {
    switch (it.kind) {
      case "header":
        return emit(d, "", `header ${id(it.name)}`, it.span);
      case "import":
        emit(d, "", `import ${it.names.map(id).join(", ")}`, it.span);
        return expr(it.from, d + 1, "from");
      case "type":
        emit(d, "", `type ${id(it.name)}`, it.span);
        return type(it.type, d + 1);
      case "const":
        emit(d, "", `const ${id(it.name)}`, it.span);
        return expr(it.value, d + 1);
      case "config":
        emit(d, "", "config", it.span);
        for (const e of it.entries) {
          emit(d + 1, "", `entry ${id(e.key)}`, e.span);
          expr(e.value, d + 2);
        }
        return;
      case "source":
        emit(d, "", `source ${id(it.name)}`, it.span);
        type(it.type, d + 1, "type");
        return call(it.connector, d + 1, "connector");
      case "stream":
        emit(d, "", `stream ${id(it.name)}`, it.span);
        return expr(it.value, d + 1);
      case "pipeline":
        emit(d, "", "pipeline", it.span);
        return expr(it.pipe, d + 1);
      case "test":
        emit(d, "", "test", it.span);
        expr(it.name, d + 1, "name");
        for (const s of it.body) {
          if (s.kind === "given") emit(d + 1, "", `given ${id(s.source)}`, s.span);
          else emit(d + 1, "", `expect${s.ordered ? " ordered" : ""} ${id(s.sink)}`, s.span);
          expr(s.value, d + 2);
        }
        return;
    }
  };

  emit(0, "", "program", program.span);
  for (const it of program.items) item(it, 1);
  for (const c of program.comments) emit(1, "", `comment ${c.block ? "block" : "line"} ${JSON.stringify(c.text)}`, c.span);
  return out.join("\n") + "\n";
}
