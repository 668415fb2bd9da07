/**
 * LaTeX math in answers, drawn by the browser itself as MathML (no MathJax: the bundle
 * budget could not hold it, and every browser notebook frontend now renders MathML).
 *
 * markdown.ts turns `$…$` and `$$…$$` into `<span class="nbstream-math">TeX</span>`
 * (the TeX as escaped text). After sanitizing, `renderMath` replaces each such span with
 * MathML built here element by element from an allowlist, with the TeX only ever as
 * text nodes, so nothing in a formula can become markup. The converter covers the TeX
 * models write in answers (fractions, roots, scripts, Greek, operators, sums and
 * integrals, accents, `\text`, `\mathbf`…); anything else shows as its source.
 */
const NS = "http://www.w3.org/1998/Math/MathML";

const GREEK =
	"alpha beta gamma delta epsilon varepsilon zeta eta theta vartheta iota kappa lambda mu nu xi pi rho sigma tau upsilon phi varphi chi psi omega Gamma Delta Theta Lambda Xi Pi Sigma Upsilon Phi Psi Omega";
const GREEK_CODES = [
	945, 946, 947, 948, 1013, 949, 950, 951, 952, 977, 953, 954, 955, 956, 957, 958, 960, 961, 963, 964, 965,
	981, 966, 967, 968, 969, 915, 916, 920, 923, 926, 928, 931, 933, 934, 936, 937,
];

/** Commands that are one symbol: [name, character, MathML element]. */
const SYMBOLS: Record<string, [string, "mi" | "mo"]> = {};
GREEK.split(" ").forEach((name, i) => {
	SYMBOLS[name] = [String.fromCodePoint(GREEK_CODES[i] as number), "mi"];
});
for (const [names, chars] of [
	[
		"sum prod int oint infty partial nabla cdot times div pm mp leq le geq ge neq ne approx equiv sim to rightarrow leftarrow Rightarrow Leftrightarrow mapsto in notin subset subseteq cup cap forall exists neg land lor ldots cdots circ star ell hbar prime",
		"∑∏∫∮∞∂∇⋅×÷±∓≤≤≥≥≠≠≈≡∼→→←⇒⇔↦∈∉⊂⊆∪∩∀∃¬∧∨…⋯∘⋆ℓℏ′",
	],
] as const) {
	const list = Array.from(chars);
	names.split(" ").forEach((name, i) => {
		SYMBOLS[name] = [list[i] as string, name === "infty" || name === "ell" || name === "hbar" ? "mi" : "mo"];
	});
}
const FUNCTIONS = new Set("sin cos tan log ln exp lim max min det arg sup inf".split(" "));
const ACCENTS: Record<string, string> = { hat: "^", bar: "¯", vec: "→", dot: "˙", tilde: "~", overline: "¯" };
const VARIANTS: Record<string, string> = {
	mathbf: "bold",
	mathrm: "normal",
	mathit: "italic",
	mathbb: "double-struck",
	mathcal: "script",
	boldsymbol: "bold",
};

/** Replace every `span.nbstream-math` below `root` with the formula as MathML. */
export function renderMath(root: ParentNode): void {
	for (const span of Array.from(root.querySelectorAll("span.nbstream-math"))) {
		const tex = span.textContent ?? "";
		const math = document.createElementNS(NS, "math");
		if (span.classList.contains("nbstream-math-block")) math.setAttribute("display", "block");
		try {
			math.append(row(new Parser(tex).list()));
		} catch {
			continue; // unbalanced or too deep: the source stays, as text
		}
		// The source rides along (screen readers, copy): shown is only the first child.
		const source = el("annotation", [tex]);
		source.setAttribute("encoding", "application/x-tex");
		math.replaceChildren(el("semantics", [math.lastChild as Element, source]));
		span.replaceChildren(math);
	}
}

type Child = Element | string;

function el(name: string, children: Child[]): Element {
	const node = document.createElementNS(NS, name);
	node.append(...children);
	return node;
}

function row(items: Element[]): Element {
	return items.length === 1 ? (items[0] as Element) : el("mrow", items);
}

class Parser {
	#at = 0;
	#depth = 0;
	readonly #tex: string;

	constructor(tex: string) {
		this.#tex = tex;
	}

	/** Items up to the end, a `}`, or `\right`. */
	list(): Element[] {
		if (++this.#depth > 50) throw new Error("too deep");
		const items: Element[] = [];
		for (;;) {
			this.#space();
			const c = this.#tex[this.#at];
			if (c === undefined || c === "}") break;
			if (c === "^" || c === "_") {
				this.#at++;
				const base = items.pop() ?? el("mrow", []);
				items.push(this.#script(base, c));
			} else items.push(this.#atom());
		}
		this.#depth--;
		return items;
	}

	#script(base: Element, first: string): Element {
		const a = this.#argument();
		this.#space();
		const next = this.#tex[this.#at];
		if ((next === "^" || next === "_") && next !== first) {
			this.#at++;
			const b = this.#argument();
			return first === "_" ? el("msubsup", [base, a, b]) : el("msubsup", [base, b, a]);
		}
		return el(first === "^" ? "msup" : "msub", [base, a]);
	}

	#argument(): Element {
		this.#space();
		return this.#atom();
	}

	#group(): Element[] {
		if (this.#tex[this.#at] !== "{") return [this.#atom()];
		this.#at++;
		const items = this.list();
		if (this.#tex[this.#at] !== "}") throw new Error("unbalanced");
		this.#at++;
		return items;
	}

	#atom(): Element {
		const tex = this.#tex;
		const c = tex[this.#at] as string;
		if (c === "{") return row(this.#group());
		if (c === "\\") return this.#command();
		const digits = /^\d+(?:\.\d+)?/.exec(tex.slice(this.#at));
		if (digits) {
			this.#at += digits[0].length;
			return el("mn", [digits[0]]);
		}
		const char = String.fromCodePoint(tex.codePointAt(this.#at) as number);
		this.#at += char.length;
		return el(/\p{L}/u.test(char) ? "mi" : "mo", [char]);
	}

	#command(): Element {
		const name = /^\\([A-Za-z]+|.)/.exec(this.#tex.slice(this.#at))?.[1] ?? "";
		this.#at += name.length + 1;
		const symbol = SYMBOLS[name];
		if (symbol) return el(symbol[1], [symbol[0]]);
		if (FUNCTIONS.has(name)) return el("mi", [name]);
		switch (name) {
			case "frac":
			case "dfrac":
				return el("mfrac", [row(this.#group()), row(this.#groupAfterSpace())]);
			case "sqrt": {
				const index = this.#tex[this.#at] === "[" ? this.#bracket() : null;
				const body = row(this.#groupAfterSpace());
				return index ? el("mroot", [body, index]) : el("msqrt", [body]);
			}
			case "text":
			case "mathrm":
			case "operatorname":
				if (name === "text") return el("mtext", [this.#rawGroup()]);
				break;
			case "left":
			case "right":
				return this.#atom();
			case ",":
			case ";":
			case " ":
			case "quad":
				return el("mspace", []);
			case "{":
			case "}":
			case "%":
			case "$":
			case "#":
			case "&":
			case "_":
				return el("mo", [name]);
		}
		const accent = ACCENTS[name];
		if (accent) {
			const node = el("mover", [row(this.#groupAfterSpace()), el("mo", [accent])]);
			node.setAttribute("accent", "true");
			return node;
		}
		const variant = VARIANTS[name] ?? (name === "operatorname" ? "normal" : undefined);
		if (variant) {
			const node = row(this.#groupAfterSpace());
			const styled = node.localName === "mrow" ? node : el("mrow", [node]);
			styled.setAttribute("mathvariant", variant);
			for (const leaf of Array.from(styled.querySelectorAll("mi"))) leaf.setAttribute("mathvariant", variant);
			return styled;
		}
		// Unknown: show the command itself rather than guess.
		return el("mtext", [`\\${name}`]);
	}

	#groupAfterSpace(): Element[] {
		this.#space();
		return this.#group();
	}

	#bracket(): Element {
		const end = this.#tex.indexOf("]", this.#at);
		if (end < 0) throw new Error("unbalanced");
		const inner = new Parser(this.#tex.slice(this.#at + 1, end)).list();
		this.#at = end + 1;
		return row(inner);
	}

	#rawGroup(): string {
		this.#space();
		if (this.#tex[this.#at] !== "{") return "";
		const end = this.#tex.indexOf("}", this.#at);
		if (end < 0) throw new Error("unbalanced");
		const text = this.#tex.slice(this.#at + 1, end);
		this.#at = end + 1;
		return text;
	}

	#space(): void {
		while (/\s/.test(this.#tex[this.#at] ?? "")) this.#at++;
	}
}
