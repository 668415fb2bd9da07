/** LaTeX → MathML: what formulas become, what stays text, and that nothing becomes markup. */
import { describe, expect, it } from "vitest";
import { markdownToHtml } from "../src/markdown";
import { renderMath } from "../src/math";
import { sanitizedFragment } from "../src/sanitize";

const MATHML = "http://www.w3.org/1998/Math/MathML";

function render(markdown: string): DocumentFragment {
	const fragment = sanitizedFragment(markdownToHtml(markdown));
	renderMath(fragment);
	return fragment;
}

/** The rendered formula's MathML, without the annotation carrying its source. */
function mathml(markdown: string): string {
	const math = render(markdown).querySelector("math") as Element;
	expect(math.namespaceURI).toBe(MATHML);
	return (math.querySelector("semantics > :first-child") as Element).outerHTML.replace(/ xmlns="[^"]+"/g, "");
}

describe("math", () => {
	it("renders inline and display formulas as MathML, keeping the source", () => {
		const inline = render("Euler: $e^{i\\pi} + 1 = 0$.").querySelector("math");
		expect(inline?.getAttribute("display")).toBeNull();
		expect(inline?.querySelector("annotation")?.textContent).toBe("e^{i\\pi} + 1 = 0");
		const block = render("$$\n\\int_0^1 x\\,dx = \\frac{1}{2}\n$$").querySelector("math");
		expect(block?.getAttribute("display")).toBe("block");
	});

	it("builds fractions, roots, scripts, Greek and operators", () => {
		expect(mathml("$\\frac{a}{b}$")).toBe("<mfrac><mi>a</mi><mi>b</mi></mfrac>");
		expect(mathml("$\\sqrt{x}$")).toBe("<msqrt><mi>x</mi></msqrt>");
		expect(mathml("$\\sqrt[3]{x}$")).toBe("<mroot><mi>x</mi><mn>3</mn></mroot>");
		expect(mathml("$x_i^2$")).toBe("<msubsup><mi>x</mi><mi>i</mi><mn>2</mn></msubsup>");
		expect(mathml("$\\alpha \\leq 10.5$")).toBe("<mrow><mi>α</mi><mo>≤</mo><mn>10.5</mn></mrow>");
		expect(mathml("$\\sum_{k=1}^n k$")).toBe(
			"<mrow><msubsup><mo>∑</mo><mrow><mi>k</mi><mo>=</mo><mn>1</mn></mrow><mi>n</mi></msubsup><mi>k</mi></mrow>",
		);
		expect(mathml("$\\left( x \\right)$")).toBe("<mrow><mo>(</mo><mi>x</mi><mo>)</mo></mrow>");
		expect(mathml("$\\text{if } x$")).toBe("<mrow><mtext>if </mtext><mi>x</mi></mrow>");
		expect(mathml("$\\sin x$")).toBe("<mrow><mi>sin</mi><mi>x</mi></mrow>");
	});

	it("shows what it does not know as its source, and unbalanced formulas as text", () => {
		expect(mathml("$\\weird x$")).toBe("<mrow><mtext>\\weird</mtext><mi>x</mi></mrow>");
		const fragment = render("$\\frac{a}{b$");
		expect(fragment.querySelector("math")).toBeNull();
		expect(fragment.textContent).toContain("\\frac{a}{b");
	});

	it("leaves prices, lone dollars and unfinished formulas as text", () => {
		for (const text of ["It costs $5 and $10.", "A $ sign", "Streaming $x + ", "$ x$", "$x $"]) {
			const fragment = render(text);
			expect(fragment.querySelector("math"), text).toBeNull();
			expect(fragment.textContent, text).toContain("$");
		}
	});

	it("never turns a formula into markup", () => {
		const fragment = render("$\\text{<img src=x onerror=alert(1)>} <script>x</script>$");
		expect(fragment.querySelector("img, script")).toBeNull();
		const nodes = Array.from(fragment.querySelectorAll("math *"));
		expect(nodes.every((node) => node.namespaceURI === MATHML)).toBe(true);
		expect(nodes.flatMap((node) => Array.from(node.attributes, (a) => a.name))).toEqual(
			expect.not.arrayContaining(["onerror", "href", "style"]),
		);
	});

	it("keeps code spans and blocks literal", () => {
		expect(render("`$x$` and\n\n```\n$y$\n```").querySelector("math")).toBeNull();
	});
});
