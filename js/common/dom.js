// Small DOM helpers shared by the widgets' render() functions.

/** A new element with inline styles and optional text. */
export function element(tag, style = {}, text = "") {
  const node = document.createElement(tag);
  Object.assign(node.style, style);
  if (text) node.textContent = text;
  return node;
}

/** Keep receiving the pointer's events outside the canvas while dragging (not every pointer can be captured). */
export function capture(node, pointerId) {
  try {
    node.setPointerCapture?.(pointerId);
  } catch {
    // e.g. a synthetic event with no active pointer: the drag still works inside the canvas
  }
}
