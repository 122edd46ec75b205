/* The IPT training section (templates/directory/_formset.html): once a credential's issuer is chosen, its
 * "Level" list offers only that issuer's levels. An enhancement: without it the levels stay grouped by issuer,
 * and the server refuses a level of another issuer (Credential.LEVELS_BY_ISSUER) either way.
 */
(function () {
  "use strict";

  function limit(issuer) {
    const row = issuer.closest("fieldset");
    const level = row && row.querySelector("select[name$='-level']");
    if (!level) {
      return;
    }
    // The groups are labelled with the issuers' names, as the issuer list shows them.
    const chosen = issuer.selectedIndex > 0 ? issuer.options[issuer.selectedIndex].text : "";
    level.querySelectorAll("optgroup").forEach(function (group) {
      const other = chosen !== "" && group.label !== chosen;
      group.disabled = other;
      group.hidden = other;
    });
    const selected = level.options[level.selectedIndex];
    if (selected && selected.parentElement.disabled) {
      level.value = "";
    }
  }

  document.querySelectorAll("select[name$='-issuer']").forEach(function (issuer) {
    limit(issuer);
    issuer.addEventListener("change", function () {
      limit(issuer);
    });
  });
})();
