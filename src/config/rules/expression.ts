/**
 * The condition language of destination filters, parsed once when the config is
 * validated (never at delivery time). A hand-written tokenizer and recursive-descent
 * parser: no eval, no `new Function`, no regular expression built from user input.
 *
 *   expression := or
 *   or         := and ( "or" and )*
 *   and        := unary ( "and" unary )*
 *   unary      := "not" unary | "(" expression ")" | test
 *   test       := path "exists"
 *               | path ( "==" | "!=" | ">" | ">=" | "<" | "<=" ) literal
 *               | path "in" "[" literal ( "," literal )* "]"
 *   path       := segment ( "." segment )*      e.g. properties.revenue, context.library.name
 *   literal    := JSON string | JSON number | true | false | null
 */

export type Literal = string | number | boolean | null

export type ComparisonOperator = '==' | '!=' | '>' | '>=' | '<' | '<='

export type Expression =
  | { kind: 'and' | 'or'; left: Expression; right: Expression }
  | { kind: 'not'; operand: Expression }
  | { kind: 'exists'; path: readonly string[] }
  | { kind: 'compare'; path: readonly string[]; operator: ComparisonOperator; value: Literal }
  | { kind: 'in'; path: readonly string[]; values: readonly Literal[] }

export type ParseResult = { ok: true; expression: Expression } | { ok: false; message: string }

/** Longer expressions and deeper nesting are refused: a filter is a line, not a program. */
export const MAX_EXPRESSION_LENGTH = 1000
const MAX_DEPTH = 32

type Token =
  | { type: 'word'; text: string; at: number }
  | { type: 'string' | 'number'; text: string; value: Literal; at: number }
  | { type: 'symbol'; text: string; at: number }
  | { type: 'end'; text: ''; at: number }

const SYMBOLS = ['==', '!=', '>=', '<=', '>', '<', '(', ')', '[', ']', ','] as const
const COMPARISONS: ReadonlySet<string> = new Set(['==', '!=', '>', '>=', '<', '<='])
const KEYWORDS: ReadonlySet<string> = new Set(['and', 'or', 'not', 'exists', 'in', 'true', 'false', 'null'])

/** Fixed patterns (sticky), so every token is read at one position in linear time. */
const WORD = /[A-Za-z_$][\w$-]*(?:\.[\w$-]+)*/y
const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y
/** JSON.parse then refuses what JSON does not allow inside (raw control characters, bad escapes). */
const STRING = /"(?:[^"\\]|\\.)*"/y

class SyntaxProblem extends Error {}

function fail(at: number, message: string): never {
  throw new SyntaxProblem(`at character ${at + 1}: ${message}`)
}

function readToken(source: string, at: number): Token {
  if (at >= source.length) return { type: 'end', text: '', at }
  for (const symbol of SYMBOLS) if (source.startsWith(symbol, at)) return { type: 'symbol', text: symbol, at }
  for (const [pattern, type] of [
    [STRING, 'string'],
    [NUMBER, 'number'],
  ] as const) {
    pattern.lastIndex = at
    const match = pattern.exec(source)
    if (!match) continue
    const text = match[0]
    // JSON.parse reads a literal the pattern already delimited: data, never code.
    let value: Literal
    try {
      value = JSON.parse(text) as Literal
    } catch {
      fail(at, `invalid ${type} ${text}`)
    }
    return { type, text, value, at }
  }
  WORD.lastIndex = at
  const word = WORD.exec(source)
  if (word) return { type: 'word', text: word[0], at }
  fail(at, `unexpected character ${JSON.stringify(source[at])}`)
}

function tokenize(source: string): Token[] {
  const tokens: Token[] = []
  let at = 0
  for (;;) {
    while (at < source.length && /\s/.test(source[at] ?? '')) at += 1
    const token = readToken(source, at)
    tokens.push(token)
    if (token.type === 'end') return tokens
    at += token.text.length
  }
}

function describe(token: Token): string {
  return token.type === 'end' ? 'the end' : `"${token.text}"`
}

class Parser {
  private index = 0
  private depth = 0

  constructor(private readonly tokens: Token[]) {}

  private peek(): Token {
    // tokenize always ends with an `end` token, and parsing never reads past it.
    return this.tokens[this.index] ?? (this.tokens.at(-1) as Token)
  }

  private next(): Token {
    const token = this.peek()
    if (token.type !== 'end') this.index += 1
    return token
  }

  private isWord(text: string): boolean {
    const token = this.peek()
    return token.type === 'word' && token.text === text
  }

  private expectSymbol(text: string, what: string): void {
    const token = this.next()
    if (token.type !== 'symbol' || token.text !== text)
      fail(token.at, `expected ${what}, found ${describe(token)}`)
  }

  parseAll(): Expression {
    const expression = this.parseOr()
    const rest = this.peek()
    if (rest.type !== 'end') fail(rest.at, `expected "and", "or" or the end, found ${describe(rest)}`)
    return expression
  }

  private nest<T>(at: number, parse: () => T): T {
    this.depth += 1
    if (this.depth > MAX_DEPTH) fail(at, `nested deeper than ${MAX_DEPTH} levels`)
    const result = parse()
    this.depth -= 1
    return result
  }

  private parseOr(): Expression {
    let left = this.parseAnd()
    while (this.isWord('or')) {
      this.next()
      left = { kind: 'or', left, right: this.parseAnd() }
    }
    return left
  }

  private parseAnd(): Expression {
    let left = this.parseUnary()
    while (this.isWord('and')) {
      this.next()
      left = { kind: 'and', left, right: this.parseUnary() }
    }
    return left
  }

  private parseUnary(): Expression {
    const token = this.peek()
    if (this.isWord('not')) {
      this.next()
      return this.nest(token.at, () => ({ kind: 'not', operand: this.parseUnary() }))
    }
    if (token.type === 'symbol' && token.text === '(') {
      this.next()
      const inner = this.nest(token.at, () => this.parseOr())
      this.expectSymbol(')', '")"')
      return inner
    }
    return this.parseTest()
  }

  private parseTest(): Expression {
    const token = this.next()
    if (token.type !== 'word' || KEYWORDS.has(token.text))
      fail(
        token.at,
        `expected a field path (e.g. properties.revenue), "not" or "(", found ${describe(token)}`,
      )
    const path = token.text.split('.')
    const operator = this.next()
    if (operator.type === 'word' && operator.text === 'exists') return { kind: 'exists', path }
    if (operator.type === 'word' && operator.text === 'in') {
      this.expectSymbol('[', `"[" after "in"`)
      const values = [this.parseLiteral()]
      while (this.peek().text === ',') {
        this.next()
        values.push(this.parseLiteral())
      }
      this.expectSymbol(']', '"," or "]"')
      return { kind: 'in', path, values }
    }
    if (operator.type === 'symbol' && COMPARISONS.has(operator.text)) {
      return {
        kind: 'compare',
        path,
        operator: operator.text as ComparisonOperator,
        value: this.parseLiteral(),
      }
    }
    fail(
      operator.at,
      `expected ==, !=, >, >=, <, <=, "exists" or "in" after ${token.text}, found ${describe(operator)}`,
    )
  }

  private parseLiteral(): Literal {
    const token = this.next()
    if (token.type === 'string' || token.type === 'number') return token.value
    if (token.type === 'word' && token.text === 'true') return true
    if (token.type === 'word' && token.text === 'false') return false
    if (token.type === 'word' && token.text === 'null') return null
    fail(token.at, `expected a value ("text", a number, true, false or null), found ${describe(token)}`)
  }
}

/** Parses a condition; a problem comes back as a message naming the character where it is. */
export function parseExpression(source: string): ParseResult {
  if (source.length > MAX_EXPRESSION_LENGTH)
    return { ok: false, message: `longer than ${MAX_EXPRESSION_LENGTH} characters` }
  try {
    return { ok: true, expression: new Parser(tokenize(source)).parseAll() }
  } catch (error) {
    if (error instanceof SyntaxProblem) return { ok: false, message: error.message }
    throw error
  }
}
