-- SPDX-License-Identifier: MIT
-- wrk script: POST one order of 40 items (about 3 KB of JSON) to /orders.
local items = {}
for i = 1, 40 do
  items[#items + 1] = string.format(
    '{"sku":%d,"qty":%d,"price":%.2f,"note":"fragile, keep upright"}',
    1000 + i, i % 7, (i * 37 % 1000) / 10)
end
wrk.method = "POST"
wrk.path = "/orders"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"customer":"wrk \\"load\\" test","items":[' .. table.concat(items, ",") ..
           '],"meta":{"channel":"web","gift":false}}'

