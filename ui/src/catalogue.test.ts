// UI text only through the catalogue: the screens and the code around them carry no Chinese
// of their own. Every user-visible word is a key of i18n.ts, which holds it in zh-CN and en-US;
// the generated types are Rust's. Comments may say what they like.
import { describe, expect, it } from 'vitest'
import ts from 'typescript'
import { parse } from 'vue/compiler-sfc'
import { catalogue, LANGUAGE_NAMES } from './i18n'

const HAN = /\p{Script=Han}/u

/** Where it is allowed: the catalogue itself and what is generated from Rust. (This file,
 * whose samples are Chinese on purpose, is left out of its own glob by Vite.) */
function exempt(path: string): boolean {
  return path === './i18n.ts' || path.startsWith('./generated/')
}

/** The string and template literals of TypeScript source that contain Han characters. */
export function hanInScript(source: string, file = 'script.ts'): string[] {
  const sf = ts.createSourceFile(file, source, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS)
  const found: string[] = []
  const visit = (node: ts.Node) => {
    if (
      ts.isStringLiteral(node) ||
      ts.isNoSubstitutionTemplateLiteral(node) ||
      ts.isTemplateHead(node) ||
      ts.isTemplateMiddle(node) ||
      ts.isTemplateTail(node)
    ) {
      if (HAN.test(node.text)) {
        const { line } = sf.getLineAndCharacterOfPosition(node.getStart(sf))
        found.push(`${file}:${line + 1}: ${node.text}`)
      }
    }
    ts.forEachChild(node, visit)
  }
  visit(sf)
  return found
}

/** Han characters in a component's template (text, attributes, expressions) or script literals. */
export function hanInComponent(source: string, file = 'Component.vue'): string[] {
  const { descriptor } = parse(source, { filename: file })
  const found: string[] = []
  const template = descriptor.template?.content.replace(/<!--[\s\S]*?-->/g, '') ?? ''
  template.split('\n').forEach((line, i) => {
    if (HAN.test(line)) found.push(`${file} (template line ${i + 1}): ${line.trim()}`)
  })
  for (const script of [descriptor.script, descriptor.scriptSetup]) {
    if (script) found.push(...hanInScript(script.content, file))
  }
  return found
}

const components = import.meta.glob('./**/*.vue', { query: '?raw', import: 'default', eager: true })
const scripts = import.meta.glob('./**/*.ts', { query: '?raw', import: 'default', eager: true })

describe('the lint for text outside the catalogue', () => {
  it('finds Chinese in a template, an attribute and a script literal, not in comments', () => {
    const sample = [
      '<script setup lang="ts">',
      '// 注释可以写中文',
      "const label = '请重试'",
      'const ok = `fine ${label}`',
      '</script>',
      '<template>',
      '  <!-- 这里也可以 -->',
      '  <p title="标题">{{ ok }}</p>',
      '  <p>正文</p>',
      '</template>',
    ].join('\n')
    const found = hanInComponent(sample)
    expect(found).toHaveLength(3)
    expect(found.join('\n')).toContain('请重试')
    expect(found.join('\n')).toContain('标题')
    expect(found.join('\n')).toContain('正文')
    expect(hanInScript('/** 出示使用 */\nconst x = `a ${"二维码"} b`')).toEqual(['script.ts:2: 二维码'])
  })

  it('finds none in the app: every screen speaks through i18n.ts', () => {
    const found = [
      ...Object.entries(components).flatMap(([path, text]) => hanInComponent(text as string, path)),
      ...Object.entries(scripts)
        .filter(([path]) => !exempt(path))
        .flatMap(([path, text]) => hanInScript(text as string, path)),
    ]
    expect(Object.keys(components).length).toBeGreaterThan(10)
    expect(found).toEqual([])
  })
})

describe('the catalogue', () => {
  it('has every entry in both languages, and no Chinese in the English', () => {
    const entries = Object.entries(catalogue)
    expect(entries.length).toBeGreaterThan(100)
    for (const [key, text] of entries) {
      expect(text.zh, key).not.toBe('')
      expect(text.en, key).not.toBe('')
      expect(HAN.test(text.en), `${key}: ${text.en}`).toBe(false)
    }
    // The language switch names each language in itself.
    expect(LANGUAGE_NAMES).toEqual({ zh: '中文', en: 'English' })
  })
})
