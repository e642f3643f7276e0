//! Docker's `--format` templates: the subset of Go's text/template that users type, applied
//! to the JSON that `inspect`, `ps` and `images` print.
//!
//! Supported: literal text; `{{.}}`, `{{.Field.Sub}}`, `{{$}}`, `{{$.Field}}`; string,
//! number, `true`/`false`/`nil` literals; pipes `{{.X | json}}` and parentheses;
//! `{{if}}`/`{{else if}}`/`{{else}}`/`{{end}}`, `{{range}}` (with `{{else}}`), `{{with}}`;
//! the functions `json`, `index`, `lower`, `upper`, `join`, `len`, `print`, `println`,
//! `eq`, `ne`, `not`, `and`, `or`; comments `{{/* */}}` and the trim markers `{{-`/`-}}`.
//! Not supported: variables other than `$`, `printf`, `define`/`template`/`block`.
//!
//! Values print as Go prints them (`%v`): strings raw, integral numbers without a decimal
//! point, `[a b c]` for arrays, `map[k:v]` for objects (keys sorted), `<nil>` for a JSON
//! null, and `<no value>` for a key the object does not have.
//!
//! As in Docker's `ps`/`images`, a template starting with `table` prints a header row
//! ([`is_table`], [`header`]), and the two-character sequences `\t` and `\n` in the literal
//! text become a tab and a newline (shells pass them through unexpanded). Columns are
//! separated by tabs; the caller aligns them.
//!
//! Reference: <https://pkg.go.dev/text/template>, <https://docs.docker.com/config/formatting/>.

use serde_json::Value;
use std::collections::BTreeMap;

/// Renders `template` against `value`. Errors read like Docker's: "template parsing error:
/// ..." for a template that does not parse, "template: ...: executing ..." for one that
/// fails on this value.
pub fn render(template: &str, value: &Value) -> Result<String, String> {
    let nodes = parse(&body(template)).map_err(|e| format!("template parsing error: {e}"))?;
    let mut out = String::new();
    let root = Val::Json(value.clone());
    exec_list(&nodes, &root, &root, &mut out)?;
    Ok(out)
}

/// True for Docker's `table` templates (`table {{.ID}}\t{{.Names}}`).
pub fn is_table(template: &str) -> bool {
    template
        .trim_start()
        .strip_prefix("table")
        .is_some_and(|rest| rest.is_empty() || rest.starts_with(char::is_whitespace))
}

/// The header row of a `table` template, one entry per tab-separated column: each field is
/// replaced by Docker's name for it (`ID` is "CONTAINER ID", `RunningFor` "CREATED", other
/// names upper-cased with a space between words: `CreatedAt` is "CREATED AT").
pub fn header(template: &str) -> Vec<String> {
    header_with(template, &[])
}

/// Like [`header`], with names that take precedence, e.g. `[("ID", "IMAGE ID")]` for
/// `docker images`.
pub fn header_with(template: &str, names: &[(&str, &str)]) -> Vec<String> {
    body(template)
        .split('\t')
        .map(|cell| header_cell(cell, names))
        .collect()
}

/// The template without its `table` prefix, with `\t` and `\n` expanded in literal text.
fn body(template: &str) -> String {
    let t = if is_table(template) {
        template.trim_start()["table".len()..].trim_start_matches(' ')
    } else {
        template
    };
    // Only literal text is expanded: inside an action `"\t"` is a Go string escape already.
    let mut out = String::new();
    let mut rest = t;
    while let Some(open) = rest.find("{{") {
        out.push_str(&expand_escapes(&rest[..open]));
        let close = action_end(&rest[open + 2..]).map_or(rest.len(), |c| open + 2 + c + 2);
        out.push_str(&rest[open..close]);
        rest = &rest[close..];
    }
    out.push_str(&expand_escapes(rest));
    out
}

fn expand_escapes(text: &str) -> String {
    text.replace("\\t", "\t").replace("\\n", "\n")
}

fn header_cell(cell: &str, names: &[(&str, &str)]) -> String {
    let Ok(nodes) = parse(cell) else {
        return cell.trim().to_uppercase();
    };
    // Render the cell against an object that maps each field to its header name, so text
    // and functions around the field apply to the header too, as in Docker.
    let mut fields = BTreeMap::new();
    collect_fields(&nodes, &mut fields);
    let obj: serde_json::Map<String, Value> = fields
        .keys()
        .map(|f| (f.clone(), Value::String(header_name(f, names))))
        .collect();
    let root = Val::Json(Value::Object(obj));
    let mut out = String::new();
    match exec_list(&nodes, &root, &root, &mut out) {
        Ok(()) => out,
        Err(_) => fields
            .keys()
            .next()
            .map_or_else(|| cell.trim().to_uppercase(), |f| header_name(f, names)),
    }
}

fn header_name(field: &str, names: &[(&str, &str)]) -> String {
    if let Some((_, name)) = names.iter().find(|(f, _)| *f == field) {
        return name.to_string();
    }
    match field {
        "ID" => "CONTAINER ID".into(),
        "RunningFor" | "CreatedSince" => "CREATED".into(),
        _ => {
            // CreatedAt -> CREATED AT; an acronym (ID, IPAddress) stays in one piece.
            let mut out = String::new();
            let chars: Vec<char> = field.chars().collect();
            for (i, c) in chars.iter().enumerate() {
                let starts_word = i > 0
                    && c.is_uppercase()
                    && (chars[i - 1].is_lowercase()
                        || chars.get(i + 1).is_some_and(|n| n.is_lowercase()));
                if starts_word {
                    out.push(' ');
                }
                out.extend(c.to_uppercase());
            }
            out
        }
    }
}

/// The first field name of every `.Field...` path in the nodes.
fn collect_fields(nodes: &[Node], out: &mut BTreeMap<String, ()>) {
    fn in_pipe(p: &Pipe, out: &mut BTreeMap<String, ()>) {
        for cmd in &p.cmds {
            for arg in &cmd.args {
                match arg {
                    Arg::Field(_, path) => {
                        if let Some(f) = path.first() {
                            out.insert(f.clone(), ());
                        }
                    }
                    Arg::Sub(p) => in_pipe(p, out),
                    _ => {}
                }
            }
        }
    }
    for n in nodes {
        match n {
            Node::Text(_) => {}
            Node::Action(p) => in_pipe(p, out),
            Node::Block {
                pipe, body, else_, ..
            } => {
                in_pipe(pipe, out);
                collect_fields(body, out);
                collect_fields(else_, out);
            }
        }
    }
}

// ---- parsing ----

#[derive(Debug, Clone, Copy, PartialEq)]
enum BlockKind {
    If,
    Range,
    With,
}

#[derive(Debug)]
enum Node {
    Text(String),
    Action(Pipe),
    Block {
        kind: BlockKind,
        pipe: Pipe,
        body: Vec<Node>,
        else_: Vec<Node>,
    },
}

/// `cmd | cmd | ...`; `text` and `line` are for error messages.
#[derive(Debug)]
struct Pipe {
    cmds: Vec<Cmd>,
    text: String,
    line: usize,
}

#[derive(Debug)]
struct Cmd {
    args: Vec<Arg>,
}

#[derive(Debug)]
enum Arg {
    /// `.Field.Sub` on dot (`false`) or on `$` (`true`); an empty path is `.` or `$`.
    Field(bool, Vec<String>),
    Literal(Value),
    Func(String),
    Sub(Pipe),
}

const FUNCTIONS: [&str; 13] = [
    "json", "index", "lower", "upper", "join", "len", "print", "println", "eq", "ne", "not", "and",
    "or",
];

/// One `{{...}}` or piece of text, before the tree is built.
enum Item {
    Text(String),
    Action { src: String, line: usize },
}

/// Where the action that starts at `s` (just after `{{`) ends: the offset of its `}}`,
/// skipping string literals and comments.
fn action_end(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'"' | b'\'' => {
                let (q, start) = (b[i], i);
                i += 1;
                while i < b.len() && b[i] != q && b[i] != b'\n' {
                    if b[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
                if i >= b.len() || b[i] != q {
                    // Unterminated: end the action at the next `}}`, so the tokenizer
                    // reports the string rather than an unclosed action.
                    return s[start..].find("}}").map(|c| start + c);
                }
            }
            b'`' => {
                i += 1;
                while i < b.len() && b[i] != b'`' {
                    i += 1;
                }
            }
            b'/' if s[i..].starts_with("/*") => {
                i += s[i..].find("*/")? + 1;
            }
            b'}' if s[i..].starts_with("}}") => return Some(i),
            _ => {}
        }
        i += 1;
    }
    None
}

fn split_items(t: &str) -> Result<Vec<Item>, String> {
    let mut items = Vec::new();
    let mut rest = t;
    let mut line = 1;
    while let Some(open) = rest.find("{{") {
        let mut text = rest[..open].to_string();
        line += text.matches('\n').count();
        let after = &rest[open + 2..];
        let close =
            action_end(after).ok_or_else(|| format!("template: :{line}: unclosed action"))?;
        let mut src = &after[..close];
        if let Some(s) = src.strip_prefix("- ") {
            text.truncate(text.trim_end().len());
            src = s;
        }
        let trim_after = src.ends_with(" -");
        if trim_after {
            src = &src[..src.len() - 2];
        }
        items.push(Item::Text(text));
        items.push(Item::Action {
            src: src.to_string(),
            line,
        });
        line += src.matches('\n').count();
        rest = &after[close + 2..];
        if trim_after {
            rest = rest.trim_start();
        }
    }
    items.push(Item::Text(rest.to_string()));
    Ok(items)
}

fn parse(t: &str) -> Result<Vec<Node>, String> {
    let items = split_items(t)?;
    let mut it = items.into_iter().peekable();
    let (nodes, end) = parse_list(&mut it)?;
    match end {
        Stop::Eof => Ok(nodes),
        Stop::End(line) => Err(format!("template: :{line}: unexpected {{{{end}}}}")),
        Stop::Else(line) | Stop::ElseIf(_, line) => {
            Err(format!("template: :{line}: unexpected {{{{else}}}}"))
        }
    }
}

/// What stopped a list of nodes.
enum Stop {
    Eof,
    End(usize),
    Else(usize),
    ElseIf(Pipe, usize),
}

type Items = std::iter::Peekable<std::vec::IntoIter<Item>>;

fn parse_list(it: &mut Items) -> Result<(Vec<Node>, Stop), String> {
    let mut nodes = Vec::new();
    while let Some(item) = it.next() {
        let (src, line) = match item {
            Item::Text(t) => {
                if !t.is_empty() {
                    nodes.push(Node::Text(t));
                }
                continue;
            }
            Item::Action { src, line } => (src, line),
        };
        let src = src.trim();
        if src.starts_with("/*") {
            continue;
        }
        let (word, rest) = src
            .split_once(char::is_whitespace)
            .map_or((src, ""), |(w, r)| (w, r.trim()));
        let kind = match word {
            "end" => return Ok((nodes, Stop::End(line))),
            "else" if rest.is_empty() => return Ok((nodes, Stop::Else(line))),
            "else" => match rest.split_once(char::is_whitespace) {
                Some(("if", cond)) => {
                    return Ok((nodes, Stop::ElseIf(parse_pipe(cond, line)?, line)))
                }
                _ => return Err(format!("template: :{line}: unexpected {rest:?} after else")),
            },
            "if" => BlockKind::If,
            "range" => BlockKind::Range,
            "with" => BlockKind::With,
            "define" | "template" | "block" | "break" | "continue" => {
                return Err(format!(
                    "template: :{line}: {{{{{word}}}}} is not supported"
                ))
            }
            _ => {
                nodes.push(Node::Action(parse_pipe(src, line)?));
                continue;
            }
        };
        if rest.is_empty() {
            return Err(format!("template: :{line}: missing value for {word}"));
        }
        nodes.push(parse_block(kind, parse_pipe(rest, line)?, it)?);
    }
    Ok((nodes, Stop::Eof))
}

/// The body, the optional else branch (an `else if` chain nests) and the shared `{{end}}`.
fn parse_block(kind: BlockKind, pipe: Pipe, it: &mut Items) -> Result<Node, String> {
    let line = pipe.line;
    let (body, end) = parse_list(it)?;
    let else_ = match end {
        Stop::End(_) => Vec::new(),
        Stop::Else(_) => match parse_list(it)? {
            (nodes, Stop::End(_)) => nodes,
            (_, Stop::Eof) => return Err(format!("template: :{line}: unexpected EOF")),
            (_, Stop::Else(l) | Stop::ElseIf(_, l)) => {
                return Err(format!("template: :{l}: expected end; found {{{{else}}}}"))
            }
        },
        Stop::ElseIf(cond, _) if kind == BlockKind::If => {
            vec![parse_block(BlockKind::If, cond, it)?]
        }
        Stop::ElseIf(_, l) => {
            return Err(format!("template: :{l}: else if is only allowed after if"))
        }
        Stop::Eof => return Err(format!("template: :{line}: unexpected EOF")),
    };
    Ok(Node::Block {
        kind,
        pipe,
        body,
        else_,
    })
}

#[derive(Debug, PartialEq)]
enum Token {
    Field(bool, Vec<String>),
    Literal(Value),
    Ident(String),
    Open,
    Close,
    Bar,
}

fn tokenize(src: &str, line: usize) -> Result<Vec<Token>, String> {
    let err = |m: String| format!("template: :{line}: {m}");
    let chars: Vec<char> = src.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    let ident_end = |mut j: usize| {
        while j < chars.len() && (chars[j].is_alphanumeric() || chars[j] == '_') {
            j += 1;
        }
        j
    };
    while i < chars.len() {
        let c = chars[i];
        match c {
            c if c.is_whitespace() => i += 1,
            '(' => {
                tokens.push(Token::Open);
                i += 1;
            }
            ')' => {
                tokens.push(Token::Close);
                i += 1;
            }
            '|' => {
                tokens.push(Token::Bar);
                i += 1;
            }
            '.' | '$' => {
                let on_root = c == '$';
                let mut path = Vec::new();
                i += 1;
                if on_root && i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                    let end = ident_end(i);
                    let name: String = chars[i..end].iter().collect();
                    return Err(err(format!("undefined variable \"${name}\"")));
                }
                let mut first = !on_root;
                loop {
                    if !first {
                        if i < chars.len() && chars[i] == '.' {
                            i += 1;
                        } else {
                            break;
                        }
                    }
                    first = false;
                    let end = ident_end(i);
                    if end == i {
                        break;
                    }
                    path.push(chars[i..end].iter().collect());
                    i = end;
                }
                if i < chars.len() && !(chars[i].is_whitespace() || "()|".contains(chars[i])) {
                    return Err(err(format!("unexpected {:?} in operand", chars[i])));
                }
                tokens.push(Token::Field(on_root, path));
            }
            '"' => {
                let mut s = String::new();
                i += 1;
                loop {
                    match chars.get(i) {
                        None => return Err(err("unterminated quoted string".into())),
                        Some('"') => break,
                        Some('\\') => {
                            i += 1;
                            s.push(match chars.get(i) {
                                Some('n') => '\n',
                                Some('t') => '\t',
                                Some('r') => '\r',
                                Some('\\') => '\\',
                                Some('"') => '"',
                                Some(other) => {
                                    return Err(err(format!("unknown escape sequence \\{other}")))
                                }
                                None => return Err(err("unterminated quoted string".into())),
                            });
                        }
                        Some(&ch) => s.push(ch),
                    }
                    i += 1;
                }
                i += 1;
                tokens.push(Token::Literal(Value::String(s)));
            }
            '`' => {
                let end = chars[i + 1..]
                    .iter()
                    .position(|&ch| ch == '`')
                    .ok_or_else(|| err("unterminated raw quoted string".into()))?;
                tokens.push(Token::Literal(Value::String(
                    chars[i + 1..i + 1 + end].iter().collect(),
                )));
                i += end + 2;
            }
            c if c.is_ascii_digit()
                || (c == '-' && chars.get(i + 1).is_some_and(char::is_ascii_digit)) =>
            {
                let start = i;
                i += 1;
                while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.') {
                    i += 1;
                }
                let text: String = chars[start..i].iter().collect();
                let n = text
                    .parse::<i64>()
                    .map(Value::from)
                    .or_else(|_| text.parse::<f64>().map(Value::from))
                    .map_err(|_| err(format!("bad number syntax: {text:?}")))?;
                tokens.push(Token::Literal(n));
            }
            c if c.is_alphabetic() || c == '_' => {
                let end = ident_end(i);
                let word: String = chars[i..end].iter().collect();
                i = end;
                tokens.push(match word.as_str() {
                    "true" => Token::Literal(Value::Bool(true)),
                    "false" => Token::Literal(Value::Bool(false)),
                    "nil" => Token::Literal(Value::Null),
                    _ if FUNCTIONS.contains(&word.as_str()) => Token::Ident(word),
                    _ => return Err(err(format!("function {word:?} not defined"))),
                });
            }
            other => return Err(err(format!("unexpected {other:?} in command"))),
        }
    }
    Ok(tokens)
}

fn parse_pipe(src: &str, line: usize) -> Result<Pipe, String> {
    let tokens = tokenize(src, line)?;
    let mut pos = 0;
    let pipe = pipe_from(&tokens, &mut pos, src, line)?;
    if pos < tokens.len() {
        return Err(format!("template: :{line}: unexpected \")\" in command"));
    }
    Ok(pipe)
}

fn pipe_from(tokens: &[Token], pos: &mut usize, src: &str, line: usize) -> Result<Pipe, String> {
    let err = |m: &str| format!("template: :{line}: {m}");
    let mut cmds = vec![Cmd { args: Vec::new() }];
    while let Some(tok) = tokens.get(*pos) {
        *pos += 1;
        let arg = match tok {
            Token::Close => {
                *pos -= 1;
                break;
            }
            Token::Bar => {
                if cmds.last().is_some_and(|c| c.args.is_empty()) {
                    return Err(err("missing command before |"));
                }
                cmds.push(Cmd { args: Vec::new() });
                continue;
            }
            Token::Open => {
                let sub = pipe_from(tokens, pos, src, line)?;
                if tokens.get(*pos) != Some(&Token::Close) {
                    return Err(err("unclosed left paren"));
                }
                *pos += 1;
                Arg::Sub(sub)
            }
            Token::Field(root, path) => Arg::Field(*root, path.clone()),
            Token::Literal(v) => Arg::Literal(v.clone()),
            Token::Ident(f) => Arg::Func(f.clone()),
        };
        if let Some(cmd) = cmds.last_mut() {
            cmd.args.push(arg);
        }
    }
    if cmds.iter().any(|c| c.args.is_empty()) {
        return Err(err("missing value for command"));
    }
    for c in &cmds {
        if !matches!(c.args[0], Arg::Func(_)) && c.args.len() > 1 {
            return Err(err(&format!(
                "can't give argument to non-function in {:?}",
                src.trim()
            )));
        }
    }
    Ok(Pipe {
        cmds,
        text: src.trim().to_string(),
        line,
    })
}

// ---- execution ----

/// A value during execution: JSON, or the absence of a key (Go's "no value").
#[derive(Debug, Clone, PartialEq)]
enum Val {
    Missing,
    Json(Value),
}

impl Val {
    fn truthy(&self) -> bool {
        match self {
            Val::Missing | Val::Json(Value::Null) => false,
            Val::Json(Value::Bool(b)) => *b,
            Val::Json(Value::Number(n)) => n.as_f64().is_some_and(|f| f != 0.0),
            Val::Json(Value::String(s)) => !s.is_empty(),
            Val::Json(Value::Array(a)) => !a.is_empty(),
            Val::Json(Value::Object(o)) => !o.is_empty(),
        }
    }

    fn type_name(&self) -> &'static str {
        match self {
            Val::Missing | Val::Json(Value::Null) => "nil",
            Val::Json(Value::Bool(_)) => "bool",
            Val::Json(Value::Number(_)) => "number",
            Val::Json(Value::String(_)) => "string",
            Val::Json(Value::Array(_)) => "array",
            Val::Json(Value::Object(_)) => "map",
        }
    }
}

fn exec_list(nodes: &[Node], dot: &Val, root: &Val, out: &mut String) -> Result<(), String> {
    for node in nodes {
        match node {
            Node::Text(t) => out.push_str(t),
            Node::Action(p) => out.push_str(&show(&eval_pipe(p, dot, root)?)),
            Node::Block {
                kind,
                pipe,
                body,
                else_,
            } => {
                let v = eval_pipe(pipe, dot, root)?;
                match kind {
                    BlockKind::If if v.truthy() => exec_list(body, dot, root, out)?,
                    BlockKind::With if v.truthy() => exec_list(body, &v, root, out)?,
                    BlockKind::If | BlockKind::With => exec_list(else_, dot, root, out)?,
                    BlockKind::Range => {
                        let items: Vec<Value> = match v {
                            Val::Missing | Val::Json(Value::Null) => Vec::new(),
                            Val::Json(Value::Array(a)) => a,
                            // Go ranges over a map's values in key order.
                            Val::Json(Value::Object(o)) => {
                                let sorted: BTreeMap<String, Value> = o.into_iter().collect();
                                sorted.into_values().collect()
                            }
                            other => {
                                return Err(exec_err(
                                    pipe,
                                    &format!("range can't iterate over {}", show(&other)),
                                ))
                            }
                        };
                        if items.is_empty() {
                            exec_list(else_, dot, root, out)?;
                        }
                        for item in items {
                            exec_list(body, &Val::Json(item), root, out)?;
                        }
                    }
                }
            }
        }
    }
    Ok(())
}

fn exec_err(p: &Pipe, msg: &str) -> String {
    format!(
        "template: :{}: executing \"\" at <{}>: {msg}",
        p.line, p.text
    )
}

fn eval_pipe(p: &Pipe, dot: &Val, root: &Val) -> Result<Val, String> {
    let mut piped: Option<Val> = None;
    for cmd in &p.cmds {
        let v = match &cmd.args[0] {
            Arg::Func(name) => {
                let mut args = cmd.args[1..]
                    .iter()
                    .map(|a| eval_arg(a, p, dot, root))
                    .collect::<Result<Vec<_>, _>>()?;
                args.extend(piped.take());
                call(name, &args).map_err(|m| exec_err(p, &format!("error calling {name}: {m}")))?
            }
            arg => {
                if piped.is_some() {
                    return Err(exec_err(p, "can't give argument to non-function"));
                }
                eval_arg(arg, p, dot, root)?
            }
        };
        piped = Some(v);
    }
    Ok(piped.unwrap_or(Val::Missing))
}

fn eval_arg(arg: &Arg, p: &Pipe, dot: &Val, root: &Val) -> Result<Val, String> {
    match arg {
        Arg::Literal(v) => Ok(Val::Json(v.clone())),
        Arg::Sub(sub) => eval_pipe(sub, dot, root),
        Arg::Func(name) => {
            call(name, &[]).map_err(|m| exec_err(p, &format!("error calling {name}: {m}")))
        }
        Arg::Field(on_root, path) => {
            let mut v = if *on_root { root.clone() } else { dot.clone() };
            for (i, key) in path.iter().enumerate() {
                v = match v {
                    // A missing key's fields are missing too, as with Go's maps.
                    Val::Missing => Val::Missing,
                    Val::Json(Value::Object(mut o)) => {
                        o.remove(key).map_or(Val::Missing, Val::Json)
                    }
                    Val::Json(Value::Null) => {
                        let at = path[..i]
                            .iter()
                            .map(|k| format!(".{k}"))
                            .collect::<String>();
                        return Err(exec_err(p, &format!("nil pointer evaluating {at}.{key}")));
                    }
                    other => {
                        return Err(exec_err(
                            p,
                            &format!("can't evaluate field {key} in type {}", other.type_name()),
                        ))
                    }
                };
            }
            Ok(v)
        }
    }
}

fn call(name: &str, args: &[Val]) -> Result<Val, String> {
    let want = |n: usize| {
        if args.len() == n {
            Ok(())
        } else {
            Err(format!(
                "wrong number of args for {name}: want {n} got {}",
                args.len()
            ))
        }
    };
    let s = |v: String| Ok(Val::Json(Value::String(v)));
    match name {
        "json" => {
            want(1)?;
            let v = match &args[0] {
                Val::Missing => Value::Null,
                Val::Json(v) => v.clone(),
            };
            s(go_json(&v))
        }
        "index" => {
            if args.is_empty() {
                return Err("wrong number of args for index: want at least 1 got 0".into());
            }
            let mut v = args[0].clone();
            for key in &args[1..] {
                v = match (v, key) {
                    (Val::Json(Value::Object(mut o)), Val::Json(Value::String(k))) => {
                        o.remove(k).map_or(Val::Missing, Val::Json)
                    }
                    (Val::Json(Value::Array(a)), Val::Json(Value::Number(n))) => {
                        let i = n.as_u64().and_then(|i| usize::try_from(i).ok());
                        match i.and_then(|i| a.get(i)) {
                            Some(item) => Val::Json(item.clone()),
                            None => return Err(format!("index out of range: {n}")),
                        }
                    }
                    (Val::Missing | Val::Json(Value::Null), _) => {
                        return Err("index of untyped nil".into())
                    }
                    (v, k) => {
                        return Err(format!(
                            "can't index item of type {} with {}",
                            v.type_name(),
                            show(k)
                        ))
                    }
                };
            }
            Ok(v)
        }
        "lower" => {
            want(1)?;
            s(show(&args[0]).to_lowercase())
        }
        "upper" => {
            want(1)?;
            s(show(&args[0]).to_uppercase())
        }
        "join" => {
            want(2)?;
            let sep = show(&args[1]);
            match &args[0] {
                Val::Json(Value::Array(a)) => {
                    s(a.iter().map(go_value).collect::<Vec<_>>().join(&sep))
                }
                Val::Missing | Val::Json(Value::Null) => s(String::new()),
                other => Err(format!(
                    "wrong type for value; expected []string; got {}",
                    other.type_name()
                )),
            }
        }
        "len" => {
            want(1)?;
            let n = match &args[0] {
                Val::Json(Value::Array(a)) => a.len(),
                Val::Json(Value::Object(o)) => o.len(),
                Val::Json(Value::String(st)) => st.len(),
                other => return Err(format!("len of type {}", other.type_name())),
            };
            Ok(Val::Json(Value::from(n)))
        }
        "print" => s(go_sprint(args)),
        "println" => s(args.iter().map(show).collect::<Vec<_>>().join(" ") + "\n"),
        "eq" | "ne" => {
            if args.len() < 2 {
                return Err(format!("missing argument for comparison: {name}"));
            }
            let eq = args[1..].iter().any(|b| same(&args[0], b));
            Ok(Val::Json(Value::Bool(eq == (name == "eq"))))
        }
        "not" => {
            want(1)?;
            Ok(Val::Json(Value::Bool(!args[0].truthy())))
        }
        // Go returns the first falsy (and) or truthy (or) argument, else the last one.
        "and" | "or" => {
            let stop_on = name == "or";
            let found = args.iter().find(|a| a.truthy() == stop_on);
            Ok(found.or(args.last()).cloned().unwrap_or(Val::Missing))
        }
        _ => Err(format!("function {name:?} not defined")),
    }
}

fn same(a: &Val, b: &Val) -> bool {
    match (a, b) {
        (Val::Json(Value::Number(x)), Val::Json(Value::Number(y))) => x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

/// fmt.Sprint: a space between operands when neither side is a string.
fn go_sprint(args: &[Val]) -> String {
    let mut out = String::new();
    for (i, a) in args.iter().enumerate() {
        let is_str = |v: &Val| matches!(v, Val::Json(Value::String(_)));
        if i > 0 && !is_str(a) && !is_str(&args[i - 1]) {
            out.push(' ');
        }
        out.push_str(&show(a));
    }
    out
}

// ---- printing ----

/// How `{{...}}` prints a value.
fn show(v: &Val) -> String {
    match v {
        Val::Missing => "<no value>".into(),
        Val::Json(v) => go_value(v),
    }
}

/// Go's `%v` of a decoded JSON value.
fn go_value(v: &Value) -> String {
    match v {
        Value::Null => "<nil>".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => go_number(n),
        Value::String(s) => s.clone(),
        Value::Array(a) => format!("[{}]", a.iter().map(go_value).collect::<Vec<_>>().join(" ")),
        Value::Object(o) => {
            let sorted: BTreeMap<&String, &Value> = o.iter().collect();
            let items: Vec<String> = sorted
                .into_iter()
                .map(|(k, v)| format!("{k}:{}", go_value(v)))
                .collect();
            format!("map[{}]", items.join(" "))
        }
    }
}

/// Integers as integers; other numbers as Go's `%v` of a float64 (exponent form below 1e-4
/// and from 1e21 on, e.g. `1e+21`).
fn go_number(n: &serde_json::Number) -> String {
    if let Some(i) = n.as_i64() {
        return i.to_string();
    }
    if let Some(u) = n.as_u64() {
        return u.to_string();
    }
    let f = n.as_f64().unwrap_or(f64::NAN);
    if f.fract() == 0.0 && f.abs() < 1e21 {
        return format!("{f:.0}");
    }
    if f != 0.0 && (f.abs() < 1e-4 || f.abs() >= 1e21) {
        // Rust: 1e21, 1.5e-7; Go: 1e+21, 1.5e-07.
        let s = format!("{f:e}");
        if let Some((mant, exp)) = s.split_once('e') {
            let (sign, digits) = exp.strip_prefix('-').map_or(("+", exp), |d| ("-", d));
            return format!("{mant}e{sign}{digits:0>2}");
        }
        return s;
    }
    f.to_string()
}

/// Go's json.Marshal: compact, with <, > and & escaped for HTML, as Docker prints it.
fn go_json(v: &Value) -> String {
    serde_json::to_string(v)
        .unwrap_or_default()
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
        .replace('\u{2028}', "\\u2028")
        .replace('\u{2029}', "\\u2029")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn container() -> Value {
        json!({
            "Id": "abc123",
            "Name": "/web",
            "State": {"Status": "running", "Pid": 4242, "Running": true, "ExitCode": 0,
                      "Health": null},
            "Config": {"Env": ["PATH=/bin", "A=1"], "Labels": {"app": "web", "tier": "front"},
                       "Cmd": [], "Image": "busybox"},
            "Ratio": 0.5,
            "Ports": {"80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "8080"}]}
        })
    }

    fn r(t: &str) -> String {
        render(t, &container()).unwrap_or_else(|e| panic!("{t}: {e}"))
    }

    fn err(t: &str) -> String {
        render(t, &container()).unwrap_err()
    }

    #[test]
    fn text_and_fields() {
        assert_eq!(r("plain text"), "plain text");
        assert_eq!(r("{{.Name}}"), "/web");
        assert_eq!(
            r("pid={{.State.Pid}} running={{.State.Running}}"),
            "pid=4242 running=true"
        );
        assert_eq!(r("{{ .Config.Image }}"), "busybox");
        assert_eq!(r("{{$.Config.Image}}"), "busybox");
        assert_eq!(r("{{.Ratio}}"), "0.5");
    }

    #[test]
    fn values_print_like_go() {
        assert_eq!(r("{{.Config.Env}}"), "[PATH=/bin A=1]");
        assert_eq!(r("{{.Config.Cmd}}"), "[]");
        assert_eq!(r("{{.Config.Labels}}"), "map[app:web tier:front]");
        assert_eq!(r("{{.Nope}}"), "<no value>");
        assert_eq!(r("{{.Nope.Deeper}}"), "<no value>");
        assert_eq!(r("{{.State.Health}}"), "<nil>");
        assert_eq!(
            r("{{.Ports}}"),
            "map[80/tcp:[map[HostIp:0.0.0.0 HostPort:8080]]]"
        );
        let v = json!({"f": 3.0, "big": 1e21, "small": 0.00000015, "u": u64::MAX});
        assert_eq!(
            render("{{.f}} {{.big}} {{.small}} {{.u}}", &v).unwrap(),
            "3 1e+21 1.5e-07 18446744073709551615"
        );
        assert_eq!(
            render("{{.}}", &json!("just a string")).unwrap(),
            "just a string"
        );
    }

    #[test]
    fn json_function() {
        assert_eq!(r("{{json .Config.Env}}"), r#"["PATH=/bin","A=1"]"#);
        assert_eq!(r("{{json .State.Pid}}"), "4242");
        assert_eq!(r("{{json .Nope}}"), "null");
        assert_eq!(
            r("{{.Config.Labels | json}}"),
            r#"{"app":"web","tier":"front"}"#
        );
        let v = json!({"a": "<b>&"});
        assert_eq!(
            render("{{json .}}", &v).unwrap(),
            r#"{"a":"\u003cb\u003e\u0026"}"#
        );
    }

    #[test]
    fn index_function() {
        assert_eq!(r(r#"{{index .Config.Labels "app"}}"#), "web");
        assert_eq!(r(r#"{{index .Config.Labels "nope"}}"#), "<no value>");
        assert_eq!(r("{{index .Config.Env 1}}"), "A=1");
        assert_eq!(
            r(r#"{{index (index .Ports "80/tcp") 0 | json}}"#),
            r#"{"HostIp":"0.0.0.0","HostPort":"8080"}"#
        );
        assert_eq!(r(r#"{{index .Ports "80/tcp" 0 "HostPort"}}"#), "8080");
        assert!(err("{{index .Config.Env 5}}").contains("index out of range: 5"));
    }

    #[test]
    fn range_and_dot() {
        assert_eq!(r("{{range .Config.Env}}[{{.}}]{{end}}"), "[PATH=/bin][A=1]");
        assert_eq!(r("{{range .Config.Labels}}{{.}},{{end}}"), "web,front,");
        assert_eq!(r("{{range .Config.Cmd}}x{{else}}empty{{end}}"), "empty");
        assert_eq!(r("{{range .Nope}}x{{end}}"), "");
        assert_eq!(r("{{range .Config.Env}}{{$.Name}} {{end}}"), "/web /web ");
        assert!(err("{{range .Name}}x{{end}}").contains("range can't iterate over /web"));
    }

    #[test]
    fn if_else_and_truthiness() {
        assert_eq!(r("{{if .State.Running}}up{{else}}down{{end}}"), "up");
        assert_eq!(r("{{if .State.ExitCode}}failed{{else}}ok{{end}}"), "ok");
        for falsy in [
            ".Config.Cmd",
            ".Nope",
            ".State.Health",
            r#""""#,
            "false",
            "0",
        ] {
            assert_eq!(
                r(&format!("{{{{if {falsy}}}}}t{{{{else}}}}f{{{{end}}}}")),
                "f",
                "{falsy}"
            );
        }
        assert_eq!(r("{{if .Config.Labels}}t{{end}}"), "t");
        assert_eq!(
            r(
                r#"{{if eq .State.Status "exited"}}E{{else if eq .State.Status "running"}}R{{else}}?{{end}}"#
            ),
            "R"
        );
        assert_eq!(r("{{if not .State.Running}}x{{else}}y{{end}}"), "y");
        assert_eq!(
            r("{{if and .State.Running .Config.Cmd}}x{{else}}y{{end}}"),
            "y"
        );
        assert_eq!(r("{{with .State}}{{.Status}}{{end}}"), "running");
    }

    #[test]
    fn string_functions() {
        assert_eq!(r("{{upper .State.Status}}"), "RUNNING");
        assert_eq!(r("{{lower \"ABC\"}}"), "abc");
        assert_eq!(r(r#"{{join .Config.Env ","}}"#), "PATH=/bin,A=1");
        assert_eq!(r("{{println .Name .State.Pid}}"), "/web 4242\n");
        assert_eq!(r("{{len .Config.Env}}"), "2");
        assert_eq!(r("{{.State.Status | upper | lower}}"), "running");
        assert_eq!(r("{{- \" a \" -}}  x  {{- \"b\"}}"), " a xb");
        assert_eq!(r("{{/* a comment */}}ok"), "ok");
    }

    #[test]
    fn table_templates() {
        let t = r"table {{.ID}}\t{{.Names}}\t{{.RunningFor}}";
        assert!(is_table(t));
        assert!(!is_table("{{.ID}}"));
        assert!(!is_table("tables"));
        assert_eq!(header(t), ["CONTAINER ID", "NAMES", "CREATED"]);
        let row = json!({"ID": "abc", "Names": "web", "RunningFor": "2 minutes ago"});
        assert_eq!(render(t, &row).unwrap(), "abc\tweb\t2 minutes ago");
        assert_eq!(
            header("table {{.Repository}}\t{{.Tag}}\t{{.CreatedAt}}\t{{.Size}}\t{{.LocalVolumes}}"),
            ["REPOSITORY", "TAG", "CREATED AT", "SIZE", "LOCAL VOLUMES"]
        );
        assert_eq!(
            header_with("table {{.ID}}", &[("ID", "IMAGE ID")]),
            ["IMAGE ID"]
        );
        assert_eq!(header("table {{lower .Status}}"), ["status"]);
        // \t inside an action is a Go string escape, not Docker's text escape
        assert_eq!(
            render(r#"{{join .L "\t"}}\n"#, &json!({"L": ["a", "b"]})).unwrap(),
            "a\tb\n"
        );
    }

    #[test]
    fn bad_templates_are_parse_errors() {
        for (t, msg) in [
            ("{{.Name", "unclosed action"),
            ("{{if .X}}a", "unexpected EOF"),
            ("{{end}}", "unexpected {{end}}"),
            ("{{else}}", "unexpected {{else}}"),
            ("{{nosuch .X}}", "function \"nosuch\" not defined"),
            ("{{range $i, $e := .L}}{{end}}", "undefined variable \"$i\""),
            ("{{\"abc}}", "unterminated quoted string"),
            ("{{.Name .State}}", "can't give argument to non-function"),
            ("{{}}", "missing value for command"),
            ("{{(.Name}}", "unclosed left paren"),
            ("{{template \"x\"}}", "not supported"),
        ] {
            let e = err(t);
            assert!(
                e.starts_with("template parsing error: template: :1: "),
                "{t}: {e}"
            );
            assert!(e.contains(msg), "{t}: {e}");
        }
        assert!(err("a\n{{end}}").contains(":2: unexpected {{end}}"));
    }

    #[test]
    fn execution_errors_name_the_action() {
        assert_eq!(
            err("{{.Name.First}}"),
            "template: :1: executing \"\" at <.Name.First>: can't evaluate field First in type string"
        );
        assert!(
            err("{{.State.Health.Status}}").contains("nil pointer evaluating .State.Health.Status")
        );
        assert!(err("{{upper}}").contains("wrong number of args for upper"));
    }
}
