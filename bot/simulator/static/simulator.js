/* The simulator page: pick who you are, talk to the bot through /simulator/api (which signs a LINE webhook
   body and posts it to /callback, or for a person on LINE WORKS a LINE WORKS callback body to
   /lineworks/callback), and show what the bot said (replies and pushes) as LINE or LINE WORKS would. */
(function () {
  "use strict";

  var config = JSON.parse(document.getElementById("sim-config").textContent);
  var t = config.t;
  var lang = config.lang;
  var api = config.api;
  var STORE = "dxbot-simulator:";
  var NEW = "__new__";
  var POLL_MS = 2000;

  function $(id) { return document.getElementById(id); }

  var chat = $("chat");
  var quick = $("quick");
  var input = $("text");
  var richmenu = $("richmenu");
  var lwmenu = $("lwmenu");
  var phone = $("phone");
  var PLATFORM_NAMES = { line: "LINE", lineworks: "LINE WORKS" };
  var chatbar = $("chatbar");
  var userSelect = $("user-select");

  var state = {
    people: [],
    richmenus: {},
    persistentmenus: {},
    transports: ["line"],
    controls: false,
    user: null,
    lastId: 0,
    seen: {},
    lastDay: null,
    clock: null,
    queue: Promise.resolve(),
    polling: false,
  };

  function fmt(text, values) {
    return String(text).replace(/%\((\w+)\)s/g, function (match, key) {
      return values && values[key] != null ? String(values[key]) : match;
    });
  }

  function request(method, url, body) {
    var options = { method: method, headers: { Accept: "application/json" } };
    if (body !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    return fetch(url, options).then(
      function (response) {
        return response.json().catch(function () { return {}; }).then(function (data) {
          if (!response.ok) throw new Error(data.error || response.status + " " + response.statusText);
          return data;
        });
      },
      function () { throw new Error(t.network_error); }
    );
  }

  function query(params) {
    return "?" + Object.keys(params).map(function (k) {
      return encodeURIComponent(k) + "=" + encodeURIComponent(params[k]);
    }).join("&");
  }

  /* --- what you said (the transcript only has what the bot said) ------------------------------------ */

  function ownHistory(userId) {
    try { return JSON.parse(localStorage.getItem(STORE + userId) || "[]"); } catch (e) { return []; }
  }

  function remember(userId, item) {
    var history = ownHistory(userId);
    history.push(item);
    try { localStorage.setItem(STORE + userId, JSON.stringify(history.slice(-200))); } catch (e) { /* full */ }
  }

  /* --- drawing the chat ----------------------------------------------------------------------------- */

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text != null) node.textContent = text;
    return node;
  }

  function scrollDown() { chat.scrollTop = chat.scrollHeight; }

  function dayChip(day) {
    clearHints();
    if (!day || day === state.lastDay) return;
    state.lastDay = day;
    chat.appendChild(el("div", "day", day));
  }

  // LINE makes URLs in a text message tappable; so does the simulator (text nodes only, never HTML).
  function linkify(node, text) {
    var url = /https?:\/\/[^\s「」（）()<>]+/g;
    var last = 0;
    var match;
    while ((match = url.exec(text)) !== null) {
      node.appendChild(document.createTextNode(text.slice(last, match.index)));
      var link = el("a", "bubble-link", match[0]);
      link.href = match[0];
      link.target = "_blank";
      link.rel = "noopener noreferrer";
      node.appendChild(link);
      last = match.index + match[0].length;
    }
    node.appendChild(document.createTextNode(text.slice(last)));
    return node;
  }

  function note(text, isError) {
    chat.appendChild(el("div", isError ? "note error" : "note", text));
    scrollDown();
  }

  function clearHints() {
    var hints = chat.querySelectorAll(".note.hint");
    for (var i = 0; i < hints.length; i++) hints[i].remove();
  }

  function hint(text) {
    chat.appendChild(el("div", "note hint", text));
  }

  function addOwn(text, day, time) {
    dayChip(day);
    var row = el("div", "row me");
    row.appendChild(el("span", "time", time || ""));
    var bubble = el("div", "bubble me", text);
    bubble.setAttribute("aria-label", t.you + ": " + text);
    row.appendChild(bubble);
    chat.appendChild(row);
    scrollDown();
  }

  // A LINE WORKS send body is {"content": {...}}; its content reads like a LINE message (text, flex, quickReply).
  function contentOf(message) {
    return message && message.content && typeof message.content === "object" ? message.content : message;
  }

  function renderMessage(message) {
    message = contentOf(message);
    if (message.type === "text" || message.type === "textV2") {
      return linkify(el("div", "bubble bot"), message.text || "");
    }
    if (message.type === "flex") {
      var wrap = el("div", "flex");
      wrap.title = message.altText || "";
      wrap.setAttribute("data-alt-text", message.altText || "");
      wrap.appendChild(window.FlexRenderer.render(message.contents, onAction));
      return wrap;
    }
    return el("div", "bubble bot other", "[" + (message.altText || message.type || t.image) + "]");
  }

  function addEntry(entry) {
    if (state.seen[entry.id]) return;
    state.seen[entry.id] = true;
    state.lastId = Math.max(state.lastId, entry.id);
    dayChip(entry.day);
    var messages = (entry.messages || []).map(contentOf);
    messages.forEach(function (message, index) {
      var row = el("div", "row bot " + entry.kind);
      row.setAttribute("data-entry", String(entry.id));
      row.appendChild(renderMessage(message));
      if (index === messages.length - 1) {
        var meta = el("span", "time", entry.time);
        // LINE WORKS has no replies: every answer is a send, so 「プッシュ」 would tell nothing there.
        if (entry.kind !== "reply" && entry.transport !== "lineworks") meta.appendChild(el("span", "kind", t.push));
        row.appendChild(meta);
      }
      chat.appendChild(row);
    });
    // As in LINE, quick replies belong to the newest message: a message without them takes them away.
    var last = messages[messages.length - 1];
    var items = last && last.quickReply && last.quickReply.items;
    if (items && items.length) showQuick(items);
    else if (messages.length) clearQuick();
    scrollDown();
  }

  function addEntries(entries) {
    (entries || []).forEach(addEntry);
  }

  function showQuick(items) {
    quick.textContent = "";
    items.forEach(function (item) {
      var action = item.action || {};
      var chip = el("button", "chip", action.label || action.text || action.type);
      chip.type = "button";
      chip.addEventListener("click", function () { onAction(action); });
      quick.appendChild(chip);
    });
    quick.hidden = false;
  }

  function clearQuick() {
    quick.textContent = "";
    quick.hidden = true;
  }

  /* --- talking ---------------------------------------------------------------------------------------- */

  function onAction(action) {
    if (!action) return;
    if (action.type === "postback") {
      send({ postback: action.data }, action.displayText || null);
      if (action.inputOption === "openKeyboard") {
        input.value = action.fillInText || "";
        input.focus();
      } else if (action.inputOption === "closeRichMenu") {
        toggleMenu(false);
      } else if (action.inputOption === "openRichMenu") {
        toggleMenu(true);
      }
    } else if (action.type === "message" && action.postback && platform() === "lineworks") {
      send({ text: action.text, postback: action.postback }, action.text);  // LINE WORKS: content.postback
    } else if (action.type === "message") {
      send({ text: action.text }, action.text);
    } else if (action.type === "uri") {
      window.open(action.uri, "_blank", "noopener");
    } else {
      note(fmt(t.unsupported_action, { type: action.type }), true);
    }
  }

  function send(payload, shown) {
    if (!state.user) return state.queue;
    var user = state.user;
    clearQuick();
    if (shown) {
      var day = state.clock ? state.clock.day : "";
      var time = state.clock ? state.clock.time : "";
      addOwn(shown, day, time);
      remember(user.user_id, { after: state.lastId, text: shown, day: day, time: time });
    }
    var body = Object.assign({ user: user.user_id, lang: lang }, payload);
    state.queue = state.queue.then(function () {
      return request("POST", api.send, body).then(function (data) {
        setClock(data.clock);
        if (state.user && state.user.user_id === user.user_id) addEntries(data.entries);
        if (!user.registered) return loadPeople(user.user_id);
      }).catch(function (error) {
        note(fmt(t.sending_failed, { error: error.message }), true);
      });
    });
    return state.queue;
  }

  function poll() {
    if (!state.user || state.polling) return;
    state.polling = true;
    var user = state.user.user_id;
    request("GET", api.messages + query({ user: user, after: state.lastId, lang: lang }))
      .then(function (data) {
        setClock(data.clock);
        if (state.user && state.user.user_id === user) addEntries(data.entries);
      })
      .catch(function () { /* the next poll tries again */ })
      .then(function () { state.polling = false; });
  }

  $("composer").addEventListener("submit", function (event) {
    event.preventDefault();
    var text = input.value;
    if (!text.trim()) return;
    input.value = "";
    send({ text: text }, text);
  });

  /* --- the rich menu ------------------------------------------------------------------------------------ */

  function platform() {
    if (state.user) return state.user.platform || "line";
    return state.transports.indexOf("line") >= 0 ? "line" : "lineworks";
  }

  // LINE WORKS has a persistent menu rather than a rich menu: buttons, always shown under the message box.
  function drawLineWorksMenu(kind) {
    lwmenu.textContent = "";
    var menu = kind && state.persistentmenus[kind];
    lwmenu.hidden = !menu;
    if (!menu) return;
    menu.actions.forEach(function (action) {
      var button = el("button", "lw-menu-button", action.label || "");
      button.type = "button";
      button.addEventListener("click", function () { onAction(action); });
      lwmenu.appendChild(button);
    });
  }

  function drawMenu() {
    richmenu.textContent = "";
    var kind = state.user ? state.user.menu || "staff" : null;
    phone.setAttribute("data-platform", platform());
    if (platform() === "lineworks") {
      chatbar.hidden = true;
      toggleMenu(false);
      drawLineWorksMenu(kind);
      return;
    }
    lwmenu.hidden = true;
    lwmenu.textContent = "";
    var menu = kind && state.richmenus[kind];
    chatbar.hidden = !menu;
    if (!menu) { toggleMenu(false); return; }
    $("chatbar-text").textContent = menu.chatBarText;
    var frame = el("div", "menu-frame");
    frame.style.paddingTop = (menu.aspect * 100) + "%";
    var image = el("img");
    image.src = menu.image;
    image.alt = "";
    frame.appendChild(image);
    menu.areas.forEach(function (area) {
      var button = el("button", "menu-area");
      button.type = "button";
      button.style.left = area.left + "%";
      button.style.top = area.top + "%";
      button.style.width = area.width + "%";
      button.style.height = area.height + "%";
      button.setAttribute("aria-label", area.action.label || "");
      button.title = area.action.label || "";
      button.addEventListener("click", function () { onAction(area.action); });
      frame.appendChild(button);
    });
    richmenu.appendChild(frame);
  }

  function toggleMenu(open) {
    var show = open === undefined ? richmenu.hidden : open;
    richmenu.hidden = !show;
    chatbar.setAttribute("aria-expanded", show ? "true" : "false");
    chatbar.classList.toggle("open", show);
  }

  chatbar.addEventListener("click", function () { toggleMenu(); });

  /* --- who you are -------------------------------------------------------------------------------------- */

  function personLabel(person) {
    var label = person.registered
      ? person.name + " — " + person.sections.join("、") + " (" + person.role_label + ")"
      : person.name + " (" + t.unregistered + ")";
    // Only when the bot speaks both does a person's platform need saying.
    if (state.transports.length > 1) label += " [" + PLATFORM_NAMES[person.platform || "line"] + "]";
    return label;
  }

  function fillPlatforms() {
    var select = $("new-platform");
    var current = select.value;
    select.textContent = "";
    state.transports.forEach(function (name) {
      var option = el("option", null, PLATFORM_NAMES[name] || name);
      option.value = name;
      select.appendChild(option);
    });
    if (current && state.transports.indexOf(current) >= 0) select.value = current;
    $("new-platform-row").hidden = state.transports.length < 2;
    showNameHint();
  }

  function showNameHint() {
    var chosen = $("new-platform").value || state.transports[0];
    $("lineworks-name-hint").hidden = chosen !== "lineworks";
  }

  $("new-platform").addEventListener("change", showNameHint);

  function fillPeople(selected) {
    userSelect.textContent = "";
    var placeholder = el("option", null, t.choose_user);
    placeholder.value = "";
    userSelect.appendChild(placeholder);
    state.people.forEach(function (person) {
      var option = el("option", null, personLabel(person));
      option.value = person.user_id;
      userSelect.appendChild(option);
    });
    var fresh = el("option", null, "+ " + t.new_user);
    fresh.value = NEW;
    userSelect.appendChild(fresh);
    userSelect.value = selected || "";
  }

  function loadPeople(keep) {
    return request("GET", api.state + query({ lang: lang })).then(function (data) {
      state.people = data.people;
      state.richmenus = data.richmenus;
      state.persistentmenus = data.persistentmenus || {};
      state.transports = data.transports || ["line"];
      fillPlatforms();
      state.controls = data.controls;
      setClock(data.clock);
      fillPeople(keep || (state.user && state.user.user_id));
      if (state.user) {
        var now = find(state.user.user_id);
        if (now) { state.user = now; drawCard(); drawMenu(); }
      }
      return data;
    });
  }

  function find(userId) {
    for (var i = 0; i < state.people.length; i++) if (state.people[i].user_id === userId) return state.people[i];
    return null;
  }

  function drawCard() {
    var card = $("user-card");
    card.textContent = "";
    var user = state.user;
    $("who").textContent = user ? user.name : "";
    if (!user) return;
    card.appendChild(el("div", "name", user.name));
    if (user.registered) {
      card.appendChild(el("div", "meta", user.sections.join("、") + " / " + user.role_label));
    } else {
      card.appendChild(el("div", "meta", t.unregistered));
    }
    card.appendChild(el("div", "id", user.user_id));
    if (state.transports.length > 1) card.appendChild(el("div", "meta", PLATFORM_NAMES[user.platform || "line"]));
  }

  function selectUser(userId) {
    var person = find(userId);
    $("new-user").hidden = true;
    state.user = person;
    state.lastId = 0;
    state.seen = {};
    state.lastDay = null;
    chat.textContent = "";
    clearQuick();
    drawCard();
    drawMenu();
    if (!person) return Promise.resolve();
    try { localStorage.setItem(STORE + "user", userId); } catch (e) { /* private mode */ }
    return request("GET", api.messages + query({ user: userId, after: 0, lang: lang })).then(function (data) {
      if (!state.user || state.user.user_id !== userId) return;
      setClock(data.clock);
      var own = ownHistory(userId);
      var entries = data.entries || [];
      own.filter(function (item) { return item.after === 0; }).forEach(function (item) { addOwn(item.text, item.day, item.time); });
      entries.forEach(function (entry) {
        addEntry(entry);
        own.forEach(function (item) { if (item.after === entry.id) addOwn(item.text, item.day, item.time); });
      });
      if (!entries.length && !own.length) hint(t.empty_chat);
      input.focus();
    }).catch(function (error) { note(error.message, true); });
  }

  userSelect.addEventListener("change", function () {
    if (userSelect.value === NEW) {
      selectUser(null);
      $("new-user").hidden = false;
      $("new-name").focus();
      return;
    }
    selectUser(userSelect.value);
  });

  $("new-user-create").addEventListener("click", function () {
    request("POST", api.users, { name: $("new-name").value, platform: $("new-platform").value || undefined, lang: lang }).then(function (data) {
      $("new-name").value = "";
      return loadPeople(data.user.user_id).then(function () { return selectUser(data.user.user_id); });
    }).catch(function (error) { note(error.message, true); });
  });

  /* --- invite codes, jobs and the clock (console sender only) --------------------------------------------- */

  function setClock(clock) {
    if (!clock) return;
    state.clock = clock;
    var node = $("clock");
    node.textContent = clock.label;
    node.dateTime = clock.iso;
  }

  function localInputValue(iso) {
    return iso ? iso.slice(0, 16) : "";
  }

  function fillControls(data) {
    var sections = $("invite-section");
    sections.textContent = "";
    data.sections.forEach(function (name) {
      var option = el("option", null, name);
      option.value = name;
      sections.appendChild(option);
    });
    var roles = $("invite-role");
    roles.textContent = "";
    data.roles.forEach(function (role) {
      var option = el("option", null, role.label);
      option.value = role.value;
      roles.appendChild(option);
    });
    var jobs = $("job-select");
    jobs.textContent = "";
    data.jobs.forEach(function (job) {
      var option = el("option", null, job.label);
      option.value = job.name;
      jobs.appendChild(option);
    });
    var clockOnly = el("option", null, t.job_clock_only);
    clockOnly.value = "clock";
    jobs.appendChild(clockOnly);
    $("job-at").value = localInputValue(data.clock.iso);
    var controls = document.querySelectorAll(".controls");
    for (var i = 0; i < controls.length; i++) controls[i].hidden = !data.controls;
    $("no-controls").hidden = data.controls;
  }

  $("invite-create").addEventListener("click", function () {
    var result = $("invite-result");
    result.textContent = "";
    request("POST", api.invites, { section: $("invite-section").value, role: $("invite-role").value, lang: lang })
      .then(function (data) {
        result.textContent = fmt(t.invite_made, { code: data.code, section: data.section, role: data.role_label });
        input.value = "登録 " + data.code;
        input.focus();
      })
      .catch(function (error) { result.textContent = error.message; });
  });

  $("job-run").addEventListener("click", function () {
    var result = $("job-result");
    var button = $("job-run");
    result.textContent = "";
    button.disabled = true;
    request("POST", api.jobs, { job: $("job-select").value, at: $("job-at").value, lang: lang })
      .then(function (data) {
        setClock(data.clock);
        result.appendChild(el("p", "done", data.message));
        if (data.details && data.details.length) {
          var details = el("details");
          details.appendChild(el("summary", null, t.details));
          details.appendChild(el("pre", null, data.details.join("\n")));
          result.appendChild(details);
        }
        poll();
      })
      .catch(function (error) { result.appendChild(el("p", "error", error.message)); })
      .then(function () { button.disabled = false; });
  });

  /* --- start ------------------------------------------------------------------------------------------------ */

  loadPeople().then(function (data) {
    fillControls(data);
    var saved = null;
    try { saved = localStorage.getItem(STORE + "user"); } catch (e) { /* private mode */ }
    if (saved && find(saved)) {
      userSelect.value = saved;
      selectUser(saved);
    } else {
      hint(t.choose_user);
    }
    document.body.setAttribute("data-ready", "true");
  }).catch(function (error) { note(error.message, true); });

  setInterval(poll, POLL_MS);
})();
