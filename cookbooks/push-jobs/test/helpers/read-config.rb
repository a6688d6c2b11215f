# Reads a rendered push-jobs-client.rb the way Chef's config loader does (instance_eval of the
# file on a config object), then resolves each command given after the file name with the
# Ruby client's whitelist rules (client spec A.11). Prints JSON.
require 'json'

module Mixlib
  module Log
    class Formatter
      class << self
        attr_accessor :show_time
      end
    end
  end
end

class FakeChefConfig
  attr_reader :values

  def initialize
    @values = {}
  end

  def method_missing(name, *args)
    raise NoMethodError, "unexpected config call #{name}(#{args.length} arguments)" unless args.length == 1

    @values[name.to_s] = args[0]
  end

  def respond_to_missing?(*)
    true
  end
end

config = FakeChefConfig.new
config.instance_eval(File.read(ARGV[0]), ARGV[0], 1)
whitelist = config.values['whitelist']

resolve = lambda do |cmd|
  return whitelist[cmd] if whitelist.key?(cmd)

  whitelist.each do |key, value|
    next unless key.is_a?(Regexp) && key.match?(cmd)

    if value.is_a?(Hash)
      copy = value.dup
      copy[:command_line] = cmd.gsub(key, value[:command_line])
      return copy
    end
    return cmd.gsub(key, value)
  end
  nil
end

to_json_value = lambda do |v|
  case v
  when Hash then v.to_h { |k, x| [k.is_a?(Regexp) ? "regex:#{k.source}" : k.to_s, to_json_value.call(x)] }
  when Symbol then v.to_s
  else v
  end
end

constants = config.singleton_class.constants.to_h { |c| [c.to_s, config.singleton_class.const_get(c)] }
out = {
  'values' => to_json_value.call(config.values),
  'constants' => constants,
  'show_time' => Mixlib::Log::Formatter.show_time,
  'resolved' => ARGV[1..].to_h { |c| [c, to_json_value.call(resolve.call(c))] },
  'symbol_keys' => whitelist.values.select { |v| v.is_a?(Hash) }.all? { |h| h.keys.all? { |k| k.is_a?(Symbol) } }
}
puts JSON.generate(out)
