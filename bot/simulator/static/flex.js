/* A small renderer for LINE Flex Messages (bubble, carousel, box, text, span, button, separator, filler,
   spacer, image, icon), close enough to how LINE draws them to read a message at a glance.
   Everything from a message is written with textContent and checked style values: never as HTML. */
(function () {
  "use strict";

  var TEXT_SIZES = { xxs: 11, xs: 13, sm: 14, md: 16, lg: 19, xl: 22, xxl: 29, "3xl": 35, "4xl": 48, "5xl": 74 };
  var SPACES = { none: 0, xs: 2, sm: 4, md: 8, lg: 12, xl: 16, xxl: 20 };
  var BUBBLE_WIDTHS = { nano: 120, micro: 160, deca: 220, hecto: 241, kilo: 260, mega: 300, giga: 386 };
  var IMAGE_SIZES = { xxs: 40, xs: 60, sm: 80, md: 100, lg: 120, xl: 140, xxl: 160, "3xl": 180, "4xl": 200, "5xl": 220, full: null };

  function colour(value) {
    return typeof value === "string" && /^#[0-9a-fA-F]{6}([0-9a-fA-F]{2})?$/.test(value) ? value : null;
  }

  function length(value, table) {
    if (typeof value !== "string") return null;
    if (table && Object.prototype.hasOwnProperty.call(table, value)) return table[value] + "px";
    if (/^\d+(\.\d+)?(px|%)$/.test(value)) return value;
    return null;
  }

  function el(tag, cls) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    return node;
  }

  function render(container, onAction) {
    if (!container || typeof container !== "object") return el("div", "fx-unknown");
    if (container.type === "carousel") {
      var row = el("div", "fx-carousel");
      (container.contents || []).forEach(function (bubble) { row.appendChild(renderBubble(bubble, onAction)); });
      return row;
    }
    return renderBubble(container, onAction);
  }

  function renderBubble(bubble, onAction) {
    var node = el("div", "fx-bubble");
    node.style.width = (BUBBLE_WIDTHS[bubble.size] || BUBBLE_WIDTHS.mega) + "px";
    var styles = bubble.styles || {};
    ["header", "hero", "body", "footer"].forEach(function (block) {
      var part = bubble[block];
      if (!part) return;
      var wrap = el("div", "fx-block fx-" + block);
      var style = styles[block] || {};
      var bg = colour(style.backgroundColor);
      if (bg) wrap.style.backgroundColor = bg;
      if (style.separator) wrap.classList.add("fx-block-separator");
      wrap.appendChild(renderComponent(part, onAction, "vertical"));
      node.appendChild(wrap);
    });
    return node;
  }

  function applyMargin(node, component, parentLayout) {
    var margin = length(component.margin, SPACES);
    if (!margin) return;
    if (parentLayout === "vertical") node.style.marginTop = margin;
    else node.style.marginLeft = margin;
  }

  function applyFlex(node, component, parentLayout) {
    var grow = component.flex;
    if (typeof grow !== "number") grow = parentLayout === "vertical" ? 0 : 1;
    node.style.flex = grow + " " + grow + " " + (grow === 0 ? "auto" : "0");
    if (parentLayout !== "vertical" && grow !== 0) node.style.minWidth = "0";
  }

  function renderComponent(component, onAction, parentLayout) {
    var node;
    switch (component && component.type) {
      case "box": node = renderBox(component, onAction); break;
      case "text": node = renderText(component); break;
      case "button": node = renderButton(component, onAction); break;
      case "separator":
        node = el("div", parentLayout === "vertical" ? "fx-separator" : "fx-separator fx-separator-v");
        if (colour(component.color)) node.style.borderColor = component.color;
        break;
      case "filler": node = el("div", "fx-filler"); break;
      case "spacer": node = el("div", "fx-spacer"); node.style.height = length(component.size, SPACES) || "8px"; break;
      case "image": node = renderImage(component); break;
      case "icon": node = el("span", "fx-icon"); break;
      default:
        node = el("div", "fx-unknown");
        node.textContent = "[" + String(component && component.type) + "]";
    }
    if (component && component.type !== "separator") applyFlex(node, component, parentLayout);
    else if (component) node.style.flex = "0 0 auto";
    if (component) applyMargin(node, component, parentLayout);
    return node;
  }

  function renderBox(box, onAction) {
    var layout = box.layout || "vertical";
    var node = el("div", "fx-box fx-" + layout);
    var gap = length(box.spacing, SPACES);
    (box.contents || []).forEach(function (child, index) {
      var childNode = renderComponent(child, onAction, layout);
      if (gap && index > 0 && !child.margin) {
        if (layout === "vertical") childNode.style.marginTop = gap;
        else childNode.style.marginLeft = gap;
      }
      node.appendChild(childNode);
    });
    var bg = colour(box.backgroundColor);
    if (bg) node.style.backgroundColor = bg;
    var border = colour(box.borderColor);
    if (border) node.style.border = (length(box.borderWidth, { none: 0, light: 0.5, normal: 1, medium: 2, "semi-bold": 3, bold: 4 }) || "1px") + " solid " + border;
    var radius = length(box.cornerRadius, SPACES);
    if (radius) node.style.borderRadius = radius;
    ["width", "height", "maxWidth", "maxHeight"].forEach(function (prop) {
      var value = length(box[prop]);
      if (value) node.style[prop] = value;
    });
    var paddingAll = length(box.paddingAll, SPACES);
    if (paddingAll) node.style.padding = paddingAll;
    [["paddingTop", "paddingTop"], ["paddingBottom", "paddingBottom"], ["paddingStart", "paddingLeft"], ["paddingEnd", "paddingRight"]]
      .forEach(function (pair) {
        var value = length(box[pair[0]], SPACES);
        if (value) node.style[pair[1]] = value;
      });
    var justify = { "flex-start": "flex-start", center: "center", "flex-end": "flex-end", "space-between": "space-between", "space-around": "space-around", "space-evenly": "space-evenly" };
    if (justify[box.justifyContent]) node.style.justifyContent = justify[box.justifyContent];
    if (justify[box.alignItems]) node.style.alignItems = justify[box.alignItems];
    if (box.action) makeTappable(node, box.action, onAction);
    return node;
  }

  function styleText(node, component) {
    var size = TEXT_SIZES[component.size] ? TEXT_SIZES[component.size] + "px" : length(component.size);
    if (size) node.style.fontSize = size;
    if (component.weight === "bold") node.style.fontWeight = "700";
    if (component.style === "italic") node.style.fontStyle = "italic";
    if (component.decoration === "underline" || component.decoration === "line-through") node.style.textDecoration = component.decoration;
    var c = colour(component.color);
    if (c) node.style.color = c;
  }

  function renderText(component) {
    var node = el("div", "fx-text");
    styleText(node, component);
    if (component.wrap) node.classList.add("fx-wrap");
    if (component.align === "center" || component.align === "end") node.style.textAlign = component.align === "end" ? "right" : "center";
    if (Array.isArray(component.contents) && component.contents.length) {
      component.contents.forEach(function (span) {
        var s = el("span", "fx-span");
        styleText(s, span);
        s.textContent = span.text || "";
        node.appendChild(s);
      });
    } else {
      node.textContent = component.text || "";
    }
    if (typeof component.maxLines === "number" && component.maxLines > 0 && component.wrap) {
      node.style.display = "-webkit-box";
      node.style.webkitLineClamp = String(component.maxLines);
      node.style.webkitBoxOrient = "vertical";
      node.style.overflow = "hidden";
    }
    return node;
  }

  function renderButton(component, onAction) {
    var action = component.action || {};
    var style = component.style || "link";
    var node = el("button", "fx-button fx-button-" + style + (component.height === "sm" ? " fx-button-sm" : ""));
    node.type = "button";
    node.textContent = action.label || "";
    var c = colour(component.color);
    if (c && style === "link") node.style.color = c;
    else if (c) node.style.backgroundColor = c;
    node.addEventListener("click", function () { onAction(action); });
    return node;
  }

  function renderImage(component) {
    var node = el("div", "fx-image");
    var width = IMAGE_SIZES[component.size];
    if (width) node.style.width = width + "px";
    var ratio = typeof component.aspectRatio === "string" && /^\d+(\.\d+)?:\d+(\.\d+)?$/.test(component.aspectRatio)
      ? component.aspectRatio.split(":") : ["1", "1"];
    node.style.aspectRatio = ratio[0] + " / " + ratio[1];
    node.title = component.url || "";
    return node;
  }

  function makeTappable(node, action, onAction) {
    node.classList.add("fx-tappable");
    node.setAttribute("role", "button");
    node.tabIndex = 0;
    if (action.label) node.setAttribute("aria-label", action.label);
    node.addEventListener("click", function (event) {
      if (event.target.closest("button") && event.target.closest("button") !== node) return;
      onAction(action);
    });
  }

  window.FlexRenderer = { render: render };
})();
