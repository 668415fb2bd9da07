/**
 * Syntax highlighting for fenced code in answers, small enough for the bundle budget.
 *
 * Not a parser: one left-to-right scan per block that recognises comments, strings,
 * numbers and words (keywords and literals), which is what makes code readable at a
 * glance. It returns escaped HTML with `<span class="nbstream-tok-…">` around tokens, so
 * nothing from the code is ever markup. It runs on every frame for the block still
 * streaming, so it is linear and allocation-light; an unfinished string or comment
 * (the model is still typing it) runs to the end of the code, as an editor shows it.
 */
import { escapeHtml } from "./url";

interface Grammar {
	/** Comments and strings, tried in order at each position (sticky regexes). */
	spans: readonly (readonly [RegExp, Kind])[];
	keywords: ReadonlySet<string>;
	literals: ReadonlySet<string>;
	/** SQL keywords are case-insensitive. */
	anyCase?: boolean;
	/** A string followed by ":" is a key (JSON). */
	keys?: boolean;
}

type Kind = "comment" | "string" | "number" | "keyword" | "literal" | "key" | "variable";

const words = (list: string): ReadonlySet<string> => new Set(list.split(" "));

const BLOCK_COMMENT: readonly [RegExp, Kind] = [/\/\*[\s\S]*?(?:\*\/|$)/y, "comment"];
const QUOTED: readonly [RegExp, Kind] = [/"(?:[^"\\\n]|\\.)*"?|'(?:[^'\\\n]|\\.)*'?/y, "string"];

const JS_KEYWORDS =
	"async await break case catch class const continue debugger default delete do else export extends finally for from function if import in instanceof let new of return static super switch this throw try typeof var void while with yield";

const JAVASCRIPT: Grammar = {
	spans: [[/\/\/.*/y, "comment"], BLOCK_COMMENT, [/`(?:[^`\\]|\\[\s\S])*`?/y, "string"], QUOTED],
	keywords: words(JS_KEYWORDS),
	literals: words("true false null undefined NaN Infinity"),
};

const TYPESCRIPT: Grammar = {
	...JAVASCRIPT,
	keywords: words(
		`${JS_KEYWORDS} abstract as declare enum implements interface keyof namespace private protected public readonly satisfies type`,
	),
};

const GRAMMARS: Record<string, Grammar> = {
	python: {
		spans: [
			[/#.*/y, "comment"],
			[/[rRbBuUfF]{0,2}(?:"""[\s\S]*?(?:"""|$)|'''[\s\S]*?(?:'''|$))/y, "string"],
			[/[rRbBuUfF]{0,2}(?:"(?:[^"\\\n]|\\.)*"?|'(?:[^'\\\n]|\\.)*'?)/y, "string"],
		],
		keywords: words(
			"and as assert async await break class continue def del elif else except finally for from global if import in is lambda match nonlocal not or pass raise return try while with yield",
		),
		literals: words("True False None self"),
	},
	javascript: JAVASCRIPT,
	typescript: TYPESCRIPT,
	json: { spans: [QUOTED], keywords: words(""), literals: words("true false null"), keys: true },
	bash: {
		spans: [
			[/(?<![\w$])#.*/y, "comment"],
			[/"(?:[^"\\]|\\[\s\S])*"?|'[^']*'?/y, "string"],
			[/\$(?:\{[^}\n]*\}?|[\w@#?$!*-])\w*/y, "variable"],
		],
		keywords: words(
			"if then else elif fi for while until do done case esac in function return local export source select break continue",
		),
		literals: words("true false"),
	},
	sql: {
		spans: [[/--.*/y, "comment"], BLOCK_COMMENT, [/'(?:[^']|'')*'?/y, "string"]],
		keywords: words(
			"select from where and or not insert into values update set delete create table drop alter add join left right inner outer full cross on group by order having limit offset as distinct union all in is like between case when then else end with index view primary key foreign references default exists asc desc returning over partition",
		),
		literals: words("null true false"),
		anyCase: true,
	},
};

const ALIASES: Record<string, string> = {
	py: "python",
	python3: "python",
	js: "javascript",
	jsx: "javascript",
	mjs: "javascript",
	ts: "typescript",
	tsx: "typescript",
	sh: "bash",
	shell: "bash",
	zsh: "bash",
	console: "bash",
	jsonc: "json",
	postgresql: "sql",
	sqlite: "sql",
	mysql: "sql",
};

const WORD = /[A-Za-z_$][\w$]*/y;
const NUMBER = /(?:0[xX][\da-fA-F_]+|0[bB][01_]+|(?:\d[\d_]*\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)[jnLlfF]?/y;

/** The grammar for a fence's info string ("py", "TypeScript", "json"), if we have one. */
export function grammarFor(language: string): Grammar | undefined {
	const name = language.toLowerCase();
	return GRAMMARS[ALIASES[name] ?? name];
}

/** Escaped HTML of `code`, with its tokens wrapped in classed spans when the language is known. */
export function highlight(code: string, language: string): string {
	const grammar = grammarFor(language);
	if (!grammar) return escapeHtml(code);
	let html = "";
	let plain = 0; // start of the plain text not yet emitted
	let i = 0;
	const emit = (end: number, kind: Kind): void => {
		if (plain < i) html += escapeHtml(code.slice(plain, i));
		html += `<span class="nbstream-tok-${kind}">${escapeHtml(code.slice(i, end))}</span>`;
		i = end;
		plain = end;
	};
	while (i < code.length) {
		const span = matchSpan(grammar, code, i);
		if (span) {
			const [end, kind] = span;
			emit(end, grammar.keys && kind === "string" && /^\s*:/.test(code.slice(end, end + 40)) ? "key" : kind);
			continue;
		}
		const end = matchAt(WORD, code, i) || matchAt(NUMBER, code, i);
		if (end > i) {
			const word = code.slice(i, end);
			const key = grammar.anyCase ? word.toLowerCase() : word;
			if (/^[\d.]/.test(word)) emit(end, "number");
			else if (grammar.keywords.has(key)) emit(end, "keyword");
			else if (grammar.literals.has(key)) emit(end, "literal");
			else i = end; // an ordinary name stays plain text
			continue;
		}
		i += 1;
	}
	if (plain < code.length) html += escapeHtml(code.slice(plain));
	return html;
}

function matchSpan(grammar: Grammar, code: string, at: number): readonly [number, Kind] | null {
	for (const [pattern, kind] of grammar.spans) {
		const end = matchAt(pattern, code, at);
		if (end > at) return [end, kind];
	}
	return null;
}

/** End of a sticky match of `pattern` at `at`, or 0. */
function matchAt(pattern: RegExp, code: string, at: number): number {
	pattern.lastIndex = at;
	return pattern.test(code) ? pattern.lastIndex : 0;
}
