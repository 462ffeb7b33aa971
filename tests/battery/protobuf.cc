// SPDX-License-Identifier: MIT
// protobuf (C++): a protoc-generated message with nested, repeated, map,
// oneof, enum and well-known-type fields (Struct, Timestamp); binary
// serialise/parse, JSON both ways, text format, reflection, the
// MessageDifferencer, arena allocation on odd requests, and a message
// built at run time from a FileDescriptorProto (DescriptorPool +
// DynamicMessageFactory).
#include "battery.h"

#include <memory>
#include <string>

#include <google/protobuf/arena.h>
#include <google/protobuf/descriptor.h>
#include <google/protobuf/descriptor.pb.h>
#include <google/protobuf/dynamic_message.h>
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/text_format.h>
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/message_differencer.h>

#include "battery.pb.h"

namespace pb = google::protobuf;

static void fill(int i, battery::Order *o)
{
    o->set_id(1000000ULL * (unsigned)i + 7);
    o->set_customer("customer-" + std::to_string(i % 37) + " \xc3\xa9");
    int n = 1 + i % 7;
    for (int k = 0; k < n; k++) {
        battery::Item *it = o->add_items();
        it->set_sku("sku-" + std::to_string(i) + "-" + std::to_string(k));
        it->set_qty((i * 13 + k) % 100 - 10);
        it->set_price((i % 50) * 1.25 + k);
        for (int t = 0; t < k % 4; t++) it->add_tags("t" + std::to_string(t));
    }
    for (int k = 0; k < i % 5; k++) (*o->mutable_counters())["c" + std::to_string(k)] = i * k;
    if (i % 2)
        o->set_card("4111-" + std::to_string(i));
    else
        o->set_iban("DE00" + std::to_string(i * 977));
    auto &fields = *o->mutable_extra()->mutable_fields();
    fields["note"].set_string_value("request " + std::to_string(i));
    fields["weight"].set_number_value(i / 4.0);
    fields["flag"].set_bool_value(i % 3 == 0);
    auto *lv = fields["list"].mutable_list_value();
    for (int k = 0; k < i % 4; k++) lv->add_values()->set_number_value(k);
    o->mutable_when()->set_seconds(1600000000 + i * 3600);
    o->mutable_when()->set_nanos((i % 10) * 1000);
    o->set_blob(std::string(static_cast<size_t>(i % 30), static_cast<char>('a' + i % 26)));
    o->set_status(static_cast<battery::Order::Status>(i % 4));
}

static void request(int i, char *line, size_t cap)
{
    pb::Arena arena;
    battery::Order heap_order;
    battery::Order *o = i % 2 ? pb::Arena::CreateMessage<battery::Order>(&arena) : &heap_order;
    fill(i, o);

    // Maps serialise in hash order unless told otherwise.
    std::string wire;
    {
        pb::io::StringOutputStream zs(&wire);
        pb::io::CodedOutputStream cs(&zs);
        cs.SetSerializationDeterministic(true);
        o->SerializeToCodedStream(&cs);
    }
    battery::Order parsed;
    bool ok = parsed.ParseFromString(wire);
    bool same = pb::util::MessageDifferencer::Equals(*o, parsed);

    std::string json;
    pb::util::JsonPrintOptions jo;
    jo.preserve_proto_field_names = i % 2 == 0;
    auto st = pb::util::MessageToJsonString(*o, &json, jo);
    battery::Order from_json;
    auto st2 = pb::util::JsonStringToMessage(json, &from_json);
    // Map order in JSON is not specified: compare messages, hash the wire.
    bool json_same = st2.ok() && pb::util::MessageDifferencer::Equals(*o, from_json);

    std::string text;
    pb::TextFormat::PrintToString(*o, &text);
    battery::Order from_text;
    bool text_ok = pb::TextFormat::ParseFromString(text, &from_text) && pb::util::MessageDifferencer::Equals(*o, from_text);

    // Reflection: count set fields, read the enum by name.
    const pb::Reflection *r = o->GetReflection();
    std::vector<const pb::FieldDescriptor *> set;
    r->ListFields(*o, &set);
    const pb::EnumValueDescriptor *ev = r->GetEnum(*o, o->GetDescriptor()->FindFieldByName("status"));

    bt_add(line, cap, "wire=%zu/%016llx parse=%d same=%d json=%d/%zu/%d text=%zu/%d fields=%zu status=%s case=%d",
           wire.size(), (unsigned long long)bt_fnv(wire.data(), wire.size()), ok, same, st.ok(), json.size(),
           json_same, text.size(), text_ok, set.size(), ev->name().c_str(), static_cast<int>(o->payment_case()));

    // A message type made at run time.
    pb::FileDescriptorProto fdp;
    fdp.set_name("dyn" + std::to_string(i) + ".proto");
    fdp.set_package("dyn");
    fdp.set_syntax("proto3");
    pb::DescriptorProto *m = fdp.add_message_type();
    m->set_name("Row");
    const char *names[] = {"a", "b", "c", "d", "e", "f"};
    int nf = 2 + i % 5;
    for (int k = 0; k < nf; k++) {
        pb::FieldDescriptorProto *f = m->add_field();
        f->set_name(names[k]);
        f->set_number(k + 1);
        f->set_type(k % 2 ? pb::FieldDescriptorProto::TYPE_STRING : pb::FieldDescriptorProto::TYPE_INT64);
        f->set_label(k == 1 ? pb::FieldDescriptorProto::LABEL_REPEATED : pb::FieldDescriptorProto::LABEL_OPTIONAL);
    }
    pb::DescriptorPool pool;
    const pb::FileDescriptor *fd = pool.BuildFile(fdp);
    if (!fd) {
        bt_add(line, cap, " dynamic FAILED");
        return;
    }
    pb::DynamicMessageFactory factory(&pool);
    const pb::Descriptor *d = fd->FindMessageTypeByName("Row");
    std::unique_ptr<pb::Message> dm(factory.GetPrototype(d)->New());
    const pb::Reflection *dr = dm->GetReflection();
    for (int k = 0; k < d->field_count(); k++) {
        const pb::FieldDescriptor *f = d->field(k);
        if (f->is_repeated())
            for (int t = 0; t < 3; t++) dr->AddString(dm.get(), f, "v" + std::to_string(i + t));
        else if (f->type() == pb::FieldDescriptor::TYPE_STRING)
            dr->SetString(dm.get(), f, std::string(static_cast<size_t>(k + i % 9), 'x'));
        else
            dr->SetInt64(dm.get(), f, static_cast<int64_t>(i) * 1000 + k);
    }
    std::string dwire = dm->SerializeAsString(), djson;
    (void)pb::util::MessageToJsonString(*dm, &djson);
    bt_add(line, cap, " dynamic=%zu/%016llx %s", dwire.size(), (unsigned long long)bt_fnv(dwire.data(), dwire.size()),
           djson.c_str());
}

int main(int argc, char **argv)
{
    bt_run(argc, argv, BT_THREADS, request);
    pb::ShutdownProtobufLibrary();
    return 0;
}
