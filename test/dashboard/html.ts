/**
 * Reads rendered dashboard HTML with workerd's HTMLRewriter (a real streaming
 * HTML parser), so tests assert on elements and attributes, not on string shapes.
 */

/**
 * Text content of every element matching `selector`, in document order, with
 * whitespace collapsed and a space where a child element starts (as a reader sees it).
 */
export async function textsOf(html: string, selector: string): Promise<string[]> {
  const texts: string[] = []
  await new HTMLRewriter()
    .on(selector, {
      element() {
        texts.push('')
      },
      text(chunk) {
        texts[texts.length - 1] += chunk.text
      },
    })
    .on(`${selector} *`, {
      element() {
        texts[texts.length - 1] += ' '
      },
    })
    .transform(new Response(html))
    .text()
  return texts.map((text) => text.replace(/\s+/g, ' ').trim())
}

/** The text of the one element matching `selector`; fails when there is not exactly one. */
export async function textOf(html: string, selector: string): Promise<string> {
  const texts = await textsOf(html, selector)
  if (texts.length !== 1) throw new Error(`expected one "${selector}", found ${texts.length}`)
  return texts[0] as string
}

/** The value of attribute `name` on every element matching `selector`. */
export async function attributesOf(html: string, selector: string, name: string): Promise<(string | null)[]> {
  const values: (string | null)[] = []
  await new HTMLRewriter()
    .on(selector, {
      element(element) {
        values.push(element.getAttribute(name))
      },
    })
    .transform(new Response(html))
    .text()
  return values
}
