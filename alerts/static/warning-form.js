// The drafting form: live character counts, the region picker, and the refutation's fields
// shown only when its type is chosen.
// Without JavaScript the form still works: the regions field takes codes typed by hand.
(function () {
  "use strict";

  function counters() {
    document.querySelectorAll("[data-maxlength]").forEach(function (input) {
      var max = parseInt(input.dataset.maxlength, 10);
      var out = document.createElement("small");
      out.className = "counter";
      out.setAttribute("aria-live", "polite");
      input.insertAdjacentElement("afterend", out);
      function update() {
        var n = Array.from(input.value.normalize("NFC")).length;
        out.textContent = n + " / " + max;
        out.classList.toggle("over", n > max);
      }
      input.addEventListener("input", update);
      update();
    });
  }

  // Fieldsets marked data-type="<warning type>" belong to that type: hidden for others, but
  // left in the form, so what was typed is kept (the domain ignores it for other types).
  function typeFields() {
    var select = document.querySelector("select[name=warning_type]");
    if (!select) { return; }
    function update() {
      document.querySelectorAll("fieldset[data-type]").forEach(function (group) {
        group.hidden = group.dataset.type !== select.value;
      });
    }
    select.addEventListener("change", update);
    update();
  }

  function RegionPicker(root) {
    this.root = root;
    this.input = root.querySelector(".region-codes");
    this.chips = root.querySelector(".selected-regions");
    this.countLine = root.querySelector(".region-count");
    this.url = root.dataset.searchUrl;
    this.text = JSON.parse(root.dataset.text);
    this.selected = new Map();
    var self = this;
    root.querySelectorAll(".selected-regions li").forEach(function (li) {
      self.selected.set(li.dataset.code, {
        code: li.dataset.code, name: li.querySelector(".chip").firstChild.textContent.trim(),
        communes: parseInt(li.dataset.communes, 10), parent: li.dataset.parent || null,
        level: li.dataset.level || ""
      });
    });
    this.build();
    this.render();
  }

  RegionPicker.prototype.build = function () {
    var self = this;
    this.input.type = "hidden";
    this.root.querySelector(".region-hint").hidden = true;
    var search = document.createElement("input");
    search.type = "search";
    search.placeholder = this.text.search;
    search.setAttribute("aria-label", this.text.search);
    search.className = "region-search";
    var results = document.createElement("ul");
    results.className = "region-results";
    results.setAttribute("role", "listbox");
    results.setAttribute("aria-label", this.text.results);
    this.results = results;
    var timer = null;
    search.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () { self.search("q=" + encodeURIComponent(search.value)); }, 200);
    });
    search.addEventListener("keydown", function (event) {
      if (event.key === "Enter") { event.preventDefault(); }
    });
    this.chips.insertAdjacentElement("beforebegin", search);
    search.insertAdjacentElement("afterend", results);
    var level = this.root.dataset.unitLevel;
    if (level !== "commune") {
      var browse = document.createElement("button");
      browse.type = "button";
      browse.textContent = level === "nation" ? this.text.provinces : this.text.communes;
      browse.addEventListener("click", function () {
        self.search("parent=" + encodeURIComponent(self.root.dataset.unitRegion));
      });
      results.insertAdjacentElement("beforebegin", browse);
    }
  };

  RegionPicker.prototype.search = function (query) {
    var self = this;
    fetch(this.url + "?" + query, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.json() : { results: [] }; })
      .then(function (data) { self.showResults(data.results || []); })
      .catch(function () { self.showResults([]); });
  };

  RegionPicker.prototype.showResults = function (regions) {
    var self = this;
    this.results.replaceChildren();
    regions.forEach(function (region) {
      var li = document.createElement("li");
      var add = document.createElement("button");
      add.type = "button";
      add.className = "link";
      add.textContent = region.name + " (" + region.code + ")";
      add.addEventListener("click", function () { self.add(region); });
      li.appendChild(add);
      if (region.level === "province" || region.level === "nation") {
        var open = document.createElement("button");
        open.type = "button";
        open.className = "link muted";
        open.textContent = self.text.open;
        open.addEventListener("click", function () { self.search("parent=" + region.code); });
        li.appendChild(document.createTextNode(" · "));
        li.appendChild(open);
      }
      self.results.appendChild(li);
    });
    if (!regions.length) {
      var none = document.createElement("li");
      none.className = "muted";
      none.textContent = this.text.none;
      this.results.appendChild(none);
    }
  };

  RegionPicker.prototype.add = function (region) {
    if (this.selected.has("vn") || (region.parent && this.selected.has(region.parent))) { return; }
    if (region.level === "nation") { this.selected.clear(); }
    var self = this;
    this.selected.forEach(function (chosen, code) {
      if (chosen.parent === region.code) { self.selected.delete(code); }
    });
    this.selected.set(region.code, region);
    this.render();
  };

  RegionPicker.prototype.render = function () {
    var self = this;
    this.chips.replaceChildren();
    var total = 0;
    this.selected.forEach(function (region, code) {
      total += region.communes || 0;
      var li = document.createElement("li");
      var chip = document.createElement("span");
      chip.className = "chip";
      chip.textContent = region.name + " ";
      var small = document.createElement("small");
      small.textContent = code;
      chip.appendChild(small);
      var remove = document.createElement("button");
      remove.type = "button";
      remove.className = "chip-remove";
      remove.textContent = "×";
      remove.setAttribute("aria-label", self.text.remove + " " + region.name);
      remove.addEventListener("click", function () { self.selected.delete(code); self.render(); });
      chip.appendChild(remove);
      li.appendChild(chip);
      self.chips.appendChild(li);
    });
    this.input.value = Array.from(this.selected.keys()).join(" ");
    this.countLine.textContent = this.text.count.replace("%(num)s", total.toLocaleString());
  };

  document.addEventListener("DOMContentLoaded", function () {
    counters();
    typeFields();
    document.querySelectorAll(".region-picker").forEach(function (root) { new RegionPicker(root); });
  });
})();
